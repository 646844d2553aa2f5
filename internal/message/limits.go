package message

// MaxMessageBytes is the largest SQS message: body plus every message
// attribute's name, type and value (1 MiB). The queue's MaximumMessageSize
// must be raised to it; SQS's default is 256 KiB.
const MaxMessageBytes = 1 << 20

// MaxBodyBytes returns the largest body a message of the given schema may
// have once its SchemaAttribute is counted against MaxMessageBytes. Callers
// that add more attributes must subtract those too.
func MaxBodyBytes(schema string) int {
	return MaxMessageBytes - AttributeBytes(SchemaAttribute, "String", schema)
}

// AttributeBytes is what one SQS message attribute counts against
// MaxMessageBytes: its name, data type and value.
func AttributeBytes(name, dataType, value string) int {
	return len(name) + len(dataType) + len(value)
}
