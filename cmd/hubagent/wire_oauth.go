package main

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/hubagent/hubagent/internal/cloudlink"
	"github.com/hubagent/hubagent/internal/cloudlink/oauth"
	"github.com/hubagent/hubagent/internal/config"
	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/hub"
	"github.com/hubagent/hubagent/internal/localapi"
	"github.com/hubagent/hubagent/internal/store"
)

// oauthLink is the account-linking part of the agent: the authorization
// server and pages on the HTTPS server, and the local API route the CLI
// uses to remove a partner while the agent runs.
type oauthLink struct {
	srv *oauth.Server
}

// newOAuthLink makes the authorization server (loading or making the
// signing key in the data directory) and registers its routes on api.
func newOAuthLink(cfg *config.Config, st *store.Store, h *hub.Hub, api *cloudlink.Server, log *slog.Logger) (*oauthLink, error) {
	srv, err := oauth.New(oauth.Options{
		Store: oauth.NewStore(st.DB()), Hub: h, DataDir: cfg.DataDir, TokenTTL: cfg.API.TokenTTL,
		Issuer: cfg.Tunnel.PublicURL, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	srv.Register(api.Handle)
	return &oauthLink{srv: srv}, nil
}

// routes are the local API routes of account linking.
func (o *oauthLink) routes() map[string]http.Handler {
	return map[string]http.Handler{
		localapi.Pattern(http.MethodPost, localapi.PathPartnerRemove): http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			err := o.srv.RemovePartner(r.Context(), r.PathValue("id"))
			switch {
			case errors.Is(err, oauth.ErrUnknownPartner):
				localapi.WriteError(w, &device.Error{Code: device.CodeInvalidRequest, Message: err.Error()})
			case err != nil:
				// The socket is the owner's: the CLI shows the cause.
				localapi.WriteError(w, &device.Error{Code: device.CodeInternalError, Message: err.Error()})
			default:
				localapi.WriteJSON(w, http.StatusOK, struct{}{})
			}
		}),
	}
}

// mergeRoutes joins the local API routes of several parts of the agent.
func mergeRoutes(sets ...map[string]http.Handler) map[string]http.Handler {
	out := map[string]http.Handler{}
	for _, s := range sets {
		for k, v := range s {
			out[k] = v
		}
	}
	return out
}
