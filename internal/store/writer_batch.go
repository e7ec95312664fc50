package store

// PutBatch queues changes in order, as Put would one by one, under one
// hold of the writer's lock: a producer that gathered several changes (the
// hub, for the MQTT messages it took together) hands them over in one
// burst, so the writer goroutine is woken once for them instead of once
// per change. It blocks only while the queue is full (WriterOptions.Queue),
// as Put does. Kept apart from writer.go: it only uses Put's queue.
func (w *Writer) PutBatch(cs []Change) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return ErrWriterClosed
	}
	w.changes.Add(uint64(len(cs)))
	w.in.put(cs...)
	return nil
}
