package api

import (
	"context"

	"github.com/epks/epks/pkg/sim/model"
)

type tokenKey struct{}

func withToken(ctx context.Context, t model.Token) context.Context {
	return context.WithValue(ctx, tokenKey{}, t)
}

// TokenOf returns the token TokenAuth checked.
func TokenOf(ctx context.Context) model.Token {
	t, _ := ctx.Value(tokenKey{}).(model.Token)
	return t
}
