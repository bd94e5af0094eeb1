package model

import (
	"crypto/subtle"
	"errors"
	"time"
)

// Project is a Keystone project (tenant).
type Project struct {
	ID       string
	Name     string
	DomainID string
}

// User is a Keystone user with a password.
type User struct {
	ID        string
	Name      string
	DomainID  string
	Password  string
	ProjectID string // the project its tokens are scoped to by default
	// Roles are its roles on its project (admin, member, reader).
	Roles []string
}

// IsAdmin reports whether the user has the admin role, which Keystone's
// policy asks for to list projects, endpoints and services.
func (u User) IsAdmin() bool {
	for _, r := range u.Roles {
		if r == "admin" {
			return true
		}
	}
	return false
}

// ApplicationCredential lets a program authenticate as a user, scoped to
// one project, with an id and a secret.
type ApplicationCredential struct {
	ID        string
	Name      string
	Secret    string
	UserID    string
	ProjectID string
}

// Token is an issued Keystone token.
type Token struct {
	ID        string
	UserID    string
	ProjectID string
	Methods   []string
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// ErrUnauthorized is returned for bad credentials or tokens.
var ErrUnauthorized = errors.New("the request you have made requires authentication")

// CreateProject adds a project; an empty id gets a new one.
func (w *World) CreateProject(p Project) Project {
	w.mu.Lock()
	defer w.mu.Unlock()
	if p.ID == "" {
		p.ID = NewHexID()
	}
	if p.DomainID == "" {
		p.DomainID = "default"
	}
	w.projects.put(p.ID, w.nextSeq(), &p)
	return p
}

// Project returns a project by id.
func (w *World) Project(id string) (Project, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	p, ok := w.projects.get(id)
	if !ok {
		return Project{}, &ErrNotFound{"project", id}
	}
	return *p, nil
}

// Projects lists the projects.
func (w *World) Projects() []Project {
	w.mu.RLock()
	defer w.mu.RUnlock()
	var out []Project
	for _, p := range w.projects.list(nil) {
		out = append(out, *p)
	}
	return out
}

// CreateUser adds a user; an empty id gets a new one.
func (w *World) CreateUser(u User) User {
	w.mu.Lock()
	defer w.mu.Unlock()
	if u.ID == "" {
		u.ID = NewHexID()
	}
	if u.DomainID == "" {
		u.DomainID = "default"
	}
	u.Roles = append([]string(nil), u.Roles...)
	w.users.put(u.ID, w.nextSeq(), &u)
	return u
}

// Users lists the users.
func (w *World) Users() []User {
	w.mu.RLock()
	defer w.mu.RUnlock()
	var out []User
	for _, u := range w.users.list(nil) {
		c := *u
		c.Roles = append([]string(nil), u.Roles...)
		out = append(out, c)
	}
	return out
}

// CreateApplicationCredential adds an application credential of a user.
func (w *World) CreateApplicationCredential(ac ApplicationCredential) (ApplicationCredential, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	u, ok := w.users.get(ac.UserID)
	if !ok {
		return ApplicationCredential{}, &ErrNotFound{"user", ac.UserID}
	}
	if ac.ID == "" {
		ac.ID = NewHexID()
	}
	if ac.ProjectID == "" {
		ac.ProjectID = u.ProjectID
	}
	w.appCreds.put(ac.ID, w.nextSeq(), &ac)
	return ac, nil
}

// PasswordAuth finds a user by id, or by name in a domain (id or name), and
// checks its password. It returns the user and the project to scope to: the
// requested one (id, or name in a domain), else the user's own.
type PasswordAuth struct {
	UserID, UserName, UserDomainID, UserDomainName, Password   string
	ProjectID, ProjectName, ProjectDomainID, ProjectDomainName string
}

// Authenticate checks password credentials and issues a token valid for ttl.
func (w *World) Authenticate(a PasswordAuth, ttl time.Duration) (Token, User, Project, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var user *User
	for _, u := range w.users.list(nil) {
		switch {
		case a.UserID != "" && u.ID == a.UserID:
			user = u
		case a.UserID == "" && u.Name == a.UserName && domainMatches(u.DomainID, a.UserDomainID, a.UserDomainName):
			user = u
		}
	}
	if user == nil || subtle.ConstantTimeCompare([]byte(user.Password), []byte(a.Password)) != 1 {
		return Token{}, User{}, Project{}, ErrUnauthorized
	}
	project, err := w.scope(user, a.ProjectID, a.ProjectName, a.ProjectDomainID, a.ProjectDomainName)
	if err != nil {
		return Token{}, User{}, Project{}, err
	}
	t := w.issue(user.ID, project.ID, []string{"password"}, ttl)
	return t, *user, *project, nil
}

// AuthenticateApplicationCredential checks an application credential and
// issues a token scoped to its project.
func (w *World) AuthenticateApplicationCredential(id, secret string, ttl time.Duration) (Token, User, Project, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	ac, ok := w.appCreds.get(id)
	if !ok || subtle.ConstantTimeCompare([]byte(ac.Secret), []byte(secret)) != 1 {
		return Token{}, User{}, Project{}, ErrUnauthorized
	}
	user, _ := w.users.get(ac.UserID)
	project, ok := w.projects.get(ac.ProjectID)
	if user == nil || !ok {
		return Token{}, User{}, Project{}, ErrUnauthorized
	}
	t := w.issue(user.ID, project.ID, []string{"application_credential"}, ttl)
	return t, *user, *project, nil
}

func domainMatches(domainID, wantID, wantName string) bool {
	switch {
	case wantID != "":
		return domainID == wantID
	case wantName != "":
		// The simulator's domains are named as their ids ("default" is "Default").
		return domainID == wantName || (domainID == "default" && wantName == "Default")
	}
	return true
}

func (w *World) scope(user *User, id, name, domainID, domainName string) (*Project, error) {
	if id == "" && name == "" {
		id = user.ProjectID
	}
	for _, p := range w.projects.list(nil) {
		if (id != "" && p.ID == id) || (id == "" && p.Name == name && domainMatches(p.DomainID, domainID, domainName)) {
			return p, nil
		}
	}
	return nil, ErrUnauthorized
}

func (w *World) issue(userID, projectID string, methods []string, ttl time.Duration) Token {
	now := w.now().UTC()
	t := Token{ID: NewHexID() + NewHexID(), UserID: userID, ProjectID: projectID, Methods: methods,
		IssuedAt: now, ExpiresAt: now.Add(ttl)}
	w.tokens[t.ID] = &t
	return t
}

// ValidateToken returns the token if it exists and has not expired.
func (w *World) ValidateToken(id string) (Token, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	t, ok := w.tokens[id]
	if !ok || !w.now().Before(t.ExpiresAt) {
		return Token{}, ErrUnauthorized
	}
	return *t, nil
}

// RevokeToken removes a token.
func (w *World) RevokeToken(id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.tokens, id)
}

// ExpireTokens makes every issued token expired, as if Keystone's tokens
// all timed out: clients must authenticate again.
func (w *World) ExpireTokens() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(w.tokens)
	for id := range w.tokens {
		delete(w.tokens, id)
	}
	return n
}

// ReissueToken issues a new token for the user and project of a valid one.
func (w *World) ReissueToken(old Token, ttl time.Duration) (Token, User, Project, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	u, ok := w.users.get(old.UserID)
	p, ok2 := w.projects.get(old.ProjectID)
	if !ok || !ok2 {
		return Token{}, User{}, Project{}, ErrUnauthorized
	}
	return w.issue(u.ID, p.ID, []string{"token"}, ttl), *u, *p, nil
}

// TokenOwner returns the user and project of a token.
func (w *World) TokenOwner(t Token) (User, Project, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	u, ok := w.users.get(t.UserID)
	p, ok2 := w.projects.get(t.ProjectID)
	if !ok || !ok2 {
		return User{}, Project{}, ErrUnauthorized
	}
	return *u, *p, nil
}
