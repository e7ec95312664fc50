package cloudlink

import (
	"context"
	"testing"

	"github.com/hubagent/hubagent/internal/cloudlink/oauth"
)

type recordedUnlinks [][2]string

func (r *recordedUnlinks) GrantRevoked(_ context.Context, grantID, reason string) error {
	*r = append(*r, [2]string{grantID, reason})
	return nil
}

// The grant's own reason travels in AccountUnlinked; a grant ended without
// one says "unlinked".
func TestUnlinkGrantCarriesTheGrantsReason(t *testing.T) {
	var got recordedUnlinks
	for _, g := range []oauth.Grant{{ID: "g1", Reason: "partner removed"}, {ID: "g2"}} {
		if err := UnlinkGrant(context.Background(), &got, g); err != nil {
			t.Fatal(err)
		}
	}
	want := recordedUnlinks{{"g1", "partner removed"}, {"g2", "unlinked"}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("unlinks %v, want %v", got, want)
	}
}
