module github.com/epks/epks

go 1.26.0
