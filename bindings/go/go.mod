module github.com/nt5-dev/nt5/bindings/go

go 1.19
