module swarmwire.test/interop

go 1.22

require (
	github.com/brendoncarroll/go-p2p v0.0.0-20230318184050-1b4145c902cf
	github.com/brendoncarroll/go-tai64 v0.0.0-20220726191612-c9e9c0704db4
	go.uber.org/zap v1.24.0
	golang.org/x/crypto v0.4.0
	google.golang.org/protobuf v1.28.0
)

require (
	github.com/brendoncarroll/stdctx v0.0.0-20230318183431-4786d63efd50 // indirect
	github.com/davecgh/go-spew v1.1.1 // indirect
	github.com/flynn/noise v1.0.0 // indirect
	github.com/golang/protobuf v1.5.2 // indirect
	github.com/pkg/errors v0.9.1 // indirect
	github.com/pmezard/go-difflib v1.0.0 // indirect
	github.com/stretchr/testify v1.8.1 // indirect
	go.uber.org/atomic v1.7.0 // indirect
	go.uber.org/multierr v1.6.0 // indirect
	golang.org/x/exp v0.0.0-20230213192124-5e25df0256eb // indirect
	golang.org/x/sync v0.1.0 // indirect
	golang.org/x/sys v0.5.0 // indirect
	golang.zx2c4.com/wireguard v0.0.0-20220920152132-bb719d3a6e2c // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)
