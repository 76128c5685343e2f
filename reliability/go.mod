module github.com/ufocache/ufocache/reliability

go 1.26.0

replace github.com/ufocache/ufocache => ../

require (
	github.com/anishathalye/porcupine v1.3.1
	github.com/ufocache/ufocache v0.0.0-00010101000000-000000000000
	go.uber.org/goleak v1.3.0
)

require (
	github.com/puzpuzpuz/xsync/v3 v3.5.1 // indirect
	golang.org/x/sys v0.50.0 // indirect
)
