//go:build !unix

package sqlitejournal

import "os"

// tryLock does not lock on systems without flock: there, keeping to one
// writer per file is the operator's job.
func tryLock(*os.File) (bool, error) { return true, nil }

func unlock(*os.File) error { return nil }
