package message

import (
	"embed"
	"io/fs"
)

//go:embed schema/*.json
var schemaFiles embed.FS

// Schemas returns the published JSON Schema (draft 2020-12) of every
// supported version, one file per schema id, named by SchemaFileName
// ("checkfleet.result.v2.json") at the root of the returned FS. The tests
// hold the encoders and decoders to them. Validators should assert the
// "format" keyword (date-time, uri), which draft 2020-12 leaves optional.
func Schemas() fs.FS {
	sub, err := fs.Sub(schemaFiles, "schema")
	if err != nil {
		panic(err) // "schema" is a valid, embedded directory name
	}
	return sub
}
