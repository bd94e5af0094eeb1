// Command version prints its version for `--version`, as the epks binaries
// do; the images' tests put it into an image.
package main

import (
	"fmt"
	"os"
)

var version = "unset"

func main() {
	if len(os.Args) == 2 && os.Args[1] == "--version" {
		fmt.Println("version", version, "uid", os.Getuid())
		return
	}
	os.Exit(2)
}
