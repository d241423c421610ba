package main

import (
	"fmt"
	"os"

	"github.com/ctxguard/ctxguard/detectors"
	"github.com/ctxguard/ctxguard/detectors/defaults"
	"github.com/ctxguard/ctxguard/detectors/normalize"
)

func init() {
	if len(os.Args) > 2 && os.Args[1] == "one" {
		e, _ := defaults.Engine(detectors.Config{}, defaults.Options{})
		for _, p := range os.Args[2:] {
			b, err := os.ReadFile(p)
			if err != nil {
				fmt.Println(err)
				continue
			}
			res, _ := e.Scan(b, nil)
			fmt.Printf("== %s score=%.2f\n", p, res.Score)
			for _, f := range res.Findings {
				fmt.Printf("   %s %s %q %s\n", f.Rule, f.Severity, string(b[f.Start:f.End]), f.Note)
			}
			if os.Getenv("NORM") != "" {
				fmt.Println(string(normalize.New(b).Norm))
			}
		}
		os.Exit(0)
	}
}
