// Package model is the vocabulary the stages of app share: what a job leaves in the store
// (Result) and how it ends (Outcome), the forge a repository belongs to (Forges) and the
// conversions between the store's and the forge's records, and the retry rules of work that must
// not be lost to a passing failure. It holds no state and makes no calls of its own.
package model
