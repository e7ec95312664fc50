package oauth

import (
	"context"
	"errors"
	"net/http"
	"slices"
)

// Section is one part of the /status page. Other parts of the agent
// (tunnel, notifier) add theirs through Options.Sections; a section that
// fails is shown as unavailable, never breaking the page.
type Section struct {
	ID, Title string
	Render    func(ctx context.Context, sc StatusContext) (HTML, error)
}

// StatusContext is what a section may use: the signed-in user, and the
// CSRF token its own forms must carry as csrf_token.
type StatusContext struct {
	User User
	CSRF string
}

// renderedSection is a section's output.
type renderedSection struct {
	ID, Title string
	HTML      HTML
}

// statusPage is the data of status.html.
type statusPage struct {
	User     string
	CSRF     string
	Sections []renderedSection
}

// statusGet serves GET /status: sign-in when needed, then the sections.
func (s *Server) statusGet(w http.ResponseWriter, r *http.Request) {
	u, err := s.sessionUser(r)
	if err != nil {
		s.internalError(w, "status: session", err)
		return
	}
	if u == nil {
		s.pages.render(w, http.StatusOK, signinPage{Action: "/signin", CSRF: s.csrfToken(w, r)})
		return
	}
	sc := StatusContext{User: *u, CSRF: s.csrfToken(w, r)}
	all := append([]Section{
		{ID: "devices", Title: "Devices", Render: s.devicesSection},
		{ID: "partners", Title: "Partners", Render: s.partnersSection},
	}, s.opts.Sections...)
	page := statusPage{User: u.Name, CSRF: sc.CSRF}
	for _, sec := range all {
		h, err := sec.Render(r.Context(), sc)
		if err != nil {
			s.log.Error("status section", "section", sec.ID, "err", err)
			h = `<p class="error">This section is unavailable right now.</p>`
		}
		page.Sections = append(page.Sections, renderedSection{ID: sec.ID, Title: sec.Title, HTML: h})
	}
	s.pages.render(w, http.StatusOK, page)
}

func (s *Server) devicesSection(_ context.Context, _ StatusContext) (HTML, error) {
	return devicesHTML(s.devices()), nil
}

// partnerGrant is one of the user's links on the status page.
type partnerGrant struct {
	Grant    *Grant
	Devices  []consentDevice
	ShareNew bool
}

type partnersData struct {
	CSRF     string
	Partners []*Partner
	Grants   []partnerGrant
}

func (s *Server) partnersSection(ctx context.Context, sc StatusContext) (HTML, error) {
	ps, err := s.st.Partners(ctx)
	if err != nil {
		return "", err
	}
	gs, err := s.st.UserGrants(ctx, sc.User.ID)
	if err != nil {
		return "", err
	}
	data := partnersData{CSRF: sc.CSRF, Partners: ps}
	devs := s.devices()
	for _, g := range gs {
		pg := partnerGrant{Grant: g, ShareNew: g.ShareNew}
		for _, d := range devs {
			on, decided := g.Decisions[d.ID]
			if !decided {
				on = g.ShareNew && !d.Category.Sensitive()
			}
			pg.Devices = append(pg.Devices, consentDevice{ID: d.ID, Name: d.Name, Category: string(d.Category),
				Room: d.Room, Sensitive: d.Category.Sensitive(), Checked: on})
		}
		data.Grants = append(data.Grants, pg)
	}
	return partnersHTML(data), nil
}

// statusExposure serves POST /status/exposure: the owner changes which
// devices one of their links shares.
func (s *Server) statusExposure(w http.ResponseWriter, r *http.Request) {
	u, ok := s.statusForm(w, r)
	if !ok {
		return
	}
	grantID := r.PostForm.Get("grant_id")
	chosen := r.PostForm["device"]
	before, _ := s.ExposurePredicate(r.Context(), grantID) // an unknown grant fails below
	e := Exposure{Devices: map[string]bool{}, ShareNew: r.PostForm.Get("share_new") != ""}
	for _, d := range s.devices() {
		e.Devices[d.ID] = slices.Contains(chosen, d.ID)
	}
	err := s.st.SetExposure(r.Context(), u.ID, grantID, e)
	if errors.Is(err, ErrGrantRevoked) {
		s.pages.render(w, http.StatusNotFound, errorPage{"Not found", "That link no longer exists."})
		return
	}
	if err != nil {
		s.internalError(w, "status: save exposure", err)
		return
	}
	s.log.Info("exposure changed", "grant", grantID, "user", u.ID)
	if after, err := s.ExposurePredicate(r.Context(), grantID); err == nil && before != nil {
		var added, removed []string
		for _, d := range s.devices() {
			switch was, is := before(d), after(d); {
			case is && !was:
				added = append(added, d.ID)
			case was && !is:
				removed = append(removed, d.ID)
			}
		}
		if len(added)+len(removed) > 0 {
			s.exposureChanged(r.Context(), grantID, added, removed)
		}
	}
	http.Redirect(w, r, "/status#partners", http.StatusSeeOther)
}

// statusUnlink serves POST /status/unlink: the owner ends a link.
func (s *Server) statusUnlink(w http.ResponseWriter, r *http.Request) {
	u, ok := s.statusForm(w, r)
	if !ok {
		return
	}
	grantID := r.PostForm.Get("grant_id")
	gs, err := s.st.UserGrants(r.Context(), u.ID)
	if err != nil {
		s.internalError(w, "status: unlink", err)
		return
	}
	if !slices.ContainsFunc(gs, func(g *Grant) bool { return g.ID == grantID }) {
		s.pages.render(w, http.StatusNotFound, errorPage{"Not found", "That link no longer exists."})
		return
	}
	if err := s.RevokeGrant(r.Context(), grantID, "unlinked by the household"); err != nil {
		s.internalError(w, "status: unlink", err)
		return
	}
	http.Redirect(w, r, "/status#partners", http.StatusSeeOther)
}

// statusForm checks a status-page POST: form size, CSRF, session.
func (s *Server) statusForm(w http.ResponseWriter, r *http.Request) (*User, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxPageForm)
	if err := r.ParseForm(); err != nil {
		s.pages.render(w, http.StatusBadRequest, errorPage{"Bad request", "The form could not be read."})
		return nil, false
	}
	if !s.checkCSRF(r) {
		s.pages.render(w, http.StatusForbidden, errorPage{"Form expired", "Reload the status page and try again."})
		return nil, false
	}
	u, err := s.sessionUser(r)
	if err != nil {
		s.internalError(w, "status: session", err)
		return nil, false
	}
	if u == nil {
		http.Redirect(w, r, "/status", http.StatusSeeOther)
		return nil, false
	}
	return u, true
}

// signinPost serves POST /signin (sign-in for the status page).
func (s *Server) signinPost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxPageForm)
	if err := r.ParseForm(); err != nil {
		s.pages.render(w, http.StatusBadRequest, errorPage{"Bad request", "The form could not be read."})
		return
	}
	if !s.checkCSRF(r) {
		s.pages.render(w, http.StatusForbidden, errorPage{"Form expired", "Reload the page and try again."})
		return
	}
	if _, ok := s.signIn(w, r, signinPage{Action: "/signin"}); ok {
		http.Redirect(w, r, "/status", http.StatusSeeOther)
	}
}

// signout serves POST /signout.
func (s *Server) signout(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxPageForm)
	if err := r.ParseForm(); err != nil || !s.checkCSRF(r) {
		s.pages.render(w, http.StatusForbidden, errorPage{"Form expired", "Reload the page and try again."})
		return
	}
	s.endSession(w, r)
	http.Redirect(w, r, "/status", http.StatusSeeOther)
}
