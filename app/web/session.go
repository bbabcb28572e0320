package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
)

// Sessions live in a signed cookie, not on the server: every serve replica reads them with the
// shared SessionSecret, and signing out is deleting the cookie.
const (
	sessionCookie = "ppa_session"
	stateCookie   = "ppa_oauth_state"
	sessionTTL    = 7 * 24 * time.Hour
	stateTTL      = 10 * time.Minute
	csrfHeader    = "X-CSRF-Token"
	csrfField     = "csrf"
)

// session is what the session cookie holds.
type session struct {
	User    User  `json:"u"`
	Expires int64 `json:"e"` // unix seconds
	// Nonce makes each sign-in's CSRF token different, so a token that leaked from an old
	// session does not work in a new one.
	Nonce string `json:"n"`
}

// sign returns payload.mac, both base64url: the cookie and state format.
func (h *Handler) sign(purpose string, v any) (string, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	p := base64.RawURLEncoding.EncodeToString(data)
	return p + "." + base64.RawURLEncoding.EncodeToString(h.mac(purpose, p)), nil
}

// verify checks a signed value and decodes its payload into v.
func (h *Handler) verify(purpose, signed string, v any) error {
	p, m, ok := strings.Cut(signed, ".")
	if !ok {
		return errors.New("not a signed value")
	}
	got, err := base64.RawURLEncoding.DecodeString(m)
	if err != nil || !hmac.Equal(got, h.mac(purpose, p)) {
		return errors.New("bad signature")
	}
	data, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

// mac keys the HMAC by purpose, so a value signed as one thing (an OAuth state) can never pass
// as another (a session).
func (h *Handler) mac(purpose, payload string) []byte {
	m := hmac.New(sha256.New, h.opt.SessionSecret)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// currentSession returns the request's valid session, or ok=false.
func (h *Handler) currentSession(r *http.Request) (s session, ok bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return s, false
	}
	if h.verify("session", c.Value, &s) != nil || s.User.Login == "" || h.now().Unix() > s.Expires {
		return session{}, false
	}
	return s, true
}

// setSession signs user in on this browser.
func (h *Handler) setSession(w http.ResponseWriter, u User) error {
	s := session{User: u, Expires: h.now().Add(sessionTTL).Unix(), Nonce: randomToken()}
	v, err := h.sign("session", s)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: v, Path: "/", HttpOnly: true, Secure: h.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(sessionTTL / time.Second)})
	return nil
}

func (h *Handler) clearCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", HttpOnly: true, Secure: h.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// csrfToken is the token forms of this session carry. Without a session there is nothing to
// protect, and the token is empty.
func (h *Handler) csrfToken(s session, ok bool) string {
	if !ok {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(h.mac("csrf", s.Nonce+"\x00"+s.User.Forge+"\x00"+s.User.Login))
}

// checkCSRF reports whether the request carries this session's CSRF token, in the form field or
// the X-CSRF-Token header (the API with a session cookie).
func (h *Handler) checkCSRF(r *http.Request, s session) bool {
	want := h.csrfToken(s, true)
	got := r.Header.Get(csrfHeader)
	if got == "" {
		got = r.PostFormValue(csrfField)
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// bearerUser returns the admin user when the request carries the admin token.
func (h *Handler) bearerUser(r *http.Request) (User, bool, error) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return User{}, false, nil
	}
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || h.opt.AdminToken == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(h.opt.AdminToken)) != 1 {
		return User{}, false, errors.New("the Authorization header does not hold a valid token")
	}
	return User{Forge: adminForge, Login: "admin"}, true, nil
}
