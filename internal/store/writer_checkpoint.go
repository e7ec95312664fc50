package store

import "context"

// Checkpoint policy. With a flush interval the writer checkpoints right
// after each of its commits (PRAGMA wal_checkpoint(PASSIVE)): each page the
// flush changed is then written twice, once to the WAL and once to the
// database, and the WAL stays about one flush long instead of growing to
// SQLite's autocheckpoint of 1,000 pages (4 MB of a 16 MB flash). Leaving
// checkpoints to the autocheckpoint would write the pages of many flushes
// once to the database, but the saving is at most half of a budget that
// the interval already meets, and it makes each day's writes lumpy and
// the WAL big. PASSIVE never waits for readers: a page a reader still
// needs is copied by a later checkpoint. Without an interval (every
// window commits) the autocheckpoint stays in charge, as before.

// walSizeLimit is journal_size_limit: the WAL is cut back to this after a
// checkpoint restarted it.
const walSizeLimit = 1 << 20

// checkpoint runs a passive checkpoint and counts WAL frames written and
// pages copied since the last one, for the metrics that split bytes
// written between the two. SQLite reports the WAL's totals: after a
// checkpoint that copied everything the next commit restarts the WAL, so
// its frames are all new; otherwise the WAL grew from where it was.
func (w *Writer) checkpoint() {
	var busy, frames, copied int64
	err := w.s.db.QueryRowContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied)
	if err != nil || frames < 0 {
		if err != nil {
			w.log.Warn("store: checkpoint", "err", err)
		}
		return
	}
	last := w.lastCkpt
	restarted := last.frames == last.copied || frames < last.frames
	newFrames, newCopied := frames, copied
	if !restarted {
		newFrames, newCopied = frames-last.frames, copied-last.copied
	}
	w.walFrames.Add(uint64(max(newFrames, 0)))
	w.checkpointed.Add(uint64(max(newCopied, 0)))
	w.lastCkpt = ckptState{frames: frames, copied: copied}
}

// ckptState is the WAL as the last checkpoint left it.
type ckptState struct{ frames, copied int64 }
