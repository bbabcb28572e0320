package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// OAuthProvider is one "Sign in with …" button: an OAuth application of a forge and the API
// endpoint that names the user behind a token. The token is used once, to learn the user name,
// and then dropped: permissions are asked of the forge by the Authorizer, not with it.
type OAuthProvider struct {
	Forge   string // "github", "gitlab": matches store.Repository.Forge
	Title   string // "GitHub"
	Config  oauth2.Config
	UserURL string // GET with the token answers {"login": …} (GitHub) or {"username": …} (GitLab)
	// Client makes the token and user requests; nil means http.DefaultClient.
	Client *http.Client
}

// GitHubOAuth is sign-in through the GitHub App's OAuth client. webURL is https://github.com (or
// a GitHub Enterprise Server), apiURL its REST API (https://api.github.com).
func GitHubOAuth(clientID, clientSecret, webURL, apiURL string) OAuthProvider {
	webURL, apiURL = strings.TrimRight(webURL, "/"), strings.TrimRight(apiURL, "/")
	return OAuthProvider{
		Forge: "github", Title: "GitHub",
		Config: oauth2.Config{ClientID: clientID, ClientSecret: clientSecret, Endpoint: oauth2.Endpoint{
			AuthURL: webURL + "/login/oauth/authorize", TokenURL: webURL + "/login/oauth/access_token",
		}},
		UserURL: apiURL + "/user",
	}
}

// GitLabOAuth is sign-in through a GitLab OAuth application (scope read_user) on baseURL
// (https://gitlab.com or a self-managed instance).
func GitLabOAuth(clientID, clientSecret, baseURL string) OAuthProvider {
	baseURL = strings.TrimRight(baseURL, "/")
	return OAuthProvider{
		Forge: "gitlab", Title: "GitLab",
		Config: oauth2.Config{ClientID: clientID, ClientSecret: clientSecret, Scopes: []string{"read_user"},
			Endpoint: oauth2.Endpoint{AuthURL: baseURL + "/oauth/authorize", TokenURL: baseURL + "/oauth/token"}},
		UserURL: baseURL + "/api/v4/user",
	}
}

// oauthState travels to the forge and back in the state parameter; its nonce must match the
// state cookie, so a callback started in another browser is refused (login CSRF).
type oauthState struct {
	Forge   string `json:"f"`
	Nonce   string `json:"n"`
	Next    string `json:"x"`
	Expires int64  `json:"e"`
}

// login shows the sign-in choices, or with ?forge= starts that provider's OAuth flow.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/login" {
		h.notFound(w, r)
		return
	}
	next := localPath(r.URL.Query().Get("next"))
	forge := r.URL.Query().Get("forge")
	if forge == "" {
		ps := append([]OAuthProvider(nil), h.opt.OAuth...)
		h.render(w, r, http.StatusOK, "login", "Sign in", map[string]any{"Providers": ps, "Next": next})
		return
	}
	p, ok := h.oauth[forge]
	if !ok {
		h.errorPage(w, r, http.StatusNotFound, "Sign-in not available",
			fmt.Sprintf("This service does not offer sign-in with %q.", forge), "Choose one of the offered sign-ins.")
		return
	}
	st := oauthState{Forge: forge, Nonce: randomToken(), Next: next, Expires: h.now().Add(stateTTL).Unix()}
	signed, err := h.sign("oauth-state", st)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: stateCookie, Value: st.Nonce, Path: "/auth/", HttpOnly: true,
		Secure: h.secure, SameSite: http.SameSiteLaxMode, MaxAge: int(stateTTL / time.Second)})
	http.Redirect(w, r, p.Config.AuthCodeURL(signed), http.StatusFound)
}

// callback finishes the OAuth flow at /auth/<forge>/callback.
func (h *Handler) callback(w http.ResponseWriter, r *http.Request) {
	forge, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, "/auth/"), "/callback")
	p, known := h.oauth[forge]
	if !ok || !known || strings.Contains(forge, "/") {
		h.notFound(w, r)
		return
	}
	again := "Sign in again from the start; if it keeps failing, ask the operator to check the OAuth application."
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		h.errorPage(w, r, http.StatusForbidden, "Sign-in was not completed",
			p.Title+" answered: "+e+" "+q.Get("error_description"), again)
		return
	}
	var st oauthState
	c, err := r.Cookie(stateCookie)
	if h.verify("oauth-state", q.Get("state"), &st) != nil || err != nil || st.Forge != forge ||
		st.Nonce != c.Value || h.now().Unix() > st.Expires {
		h.errorPage(w, r, http.StatusBadRequest, "Sign-in could not be verified",
			"The sign-in answer did not match a sign-in started in this browser in the last ten minutes.", again)
		return
	}
	h.clearCookie(w, stateCookie)
	ctx := r.Context()
	if p.Client != nil {
		ctx = context.WithValue(ctx, oauth2.HTTPClient, p.Client)
	}
	tok, err := p.Config.Exchange(ctx, q.Get("code"))
	if err != nil {
		h.log.WarnContext(ctx, "oauth code exchange failed", "forge", forge, "err", err)
		h.errorPage(w, r, http.StatusBadGateway, "Sign-in failed", p.Title+" did not accept the sign-in code.", again)
		return
	}
	login, err := fetchLogin(ctx, p, tok)
	if err != nil {
		h.log.WarnContext(ctx, "oauth user lookup failed", "forge", forge, "err", err)
		h.errorPage(w, r, http.StatusBadGateway, "Sign-in failed", p.Title+" did not say who you are.", again)
		return
	}
	if err := h.setSession(w, User{Forge: forge, Login: login}); err != nil {
		h.serverError(w, r, err)
		return
	}
	h.log.InfoContext(ctx, "signed in", "forge", forge, "user", login)
	http.Redirect(w, r, st.Next, http.StatusFound)
}

// fetchLogin asks the forge whose token tok is.
func fetchLogin(ctx context.Context, p OAuthProvider, tok *oauth2.Token) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.UserURL, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", "application/json")
	tok.SetAuthHeader(req)
	c := p.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", fmt.Errorf("asking %s: %w", p.UserURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("asking %s: status %s", p.UserURL, resp.Status)
	}
	var u struct {
		Login    string `json:"login"`
		Username string `json:"username"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&u); err != nil {
		return "", fmt.Errorf("reading %s: %w", p.UserURL, err)
	}
	if u.Login == "" {
		u.Login = u.Username
	}
	if u.Login == "" {
		return "", fmt.Errorf("%s named no user", p.UserURL)
	}
	return u.Login, nil
}

// logout signs out with a POST carrying the CSRF token (a GET shows the button), so another site
// cannot sign a visitor out.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	s, ok := h.currentSession(r)
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		h.render(w, r, http.StatusOK, "logout", "Sign out", nil)
	case http.MethodPost:
		if ok && !h.checkCSRF(r, s) {
			h.errorPage(w, r, http.StatusForbidden, "Form expired",
				"The sign-out form did not carry this session's token.", "Reload the page and press Sign out again.")
			return
		}
		h.clearCookie(w, sessionCookie)
		http.Redirect(w, r, "/", http.StatusSeeOther)
	default:
		h.methodNotAllowed(w, r, "GET, POST")
	}
}

// localPath keeps a redirect target on this site: a path starting with one "/", else "/".
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
		return "/"
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return "/"
	}
	return p
}
