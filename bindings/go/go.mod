module nt5

go 1.19
