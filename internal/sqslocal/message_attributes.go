package sqslocal

import (
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// messageAttribute is one message (user) attribute or system attribute.
type messageAttribute struct {
	name     string
	dataType string
	str      string // String and Number types
	bin      []byte // Binary types
}

func (a *messageAttribute) binary() bool { return strings.HasPrefix(a.dataType, "Binary") }

// size is what the attribute counts towards MaximumMessageSize.
func (a *messageAttribute) size() int { return len(a.name) + len(a.dataType) + len(a.str) + len(a.bin) }

// attributeValueInput is a MessageAttributeValue as the client sends it.
type attributeValueInput struct {
	DataType         *string
	StringValue      *string
	BinaryValue      []byte
	StringListValues []string
	BinaryListValues [][]byte
}

const (
	maxMessageAttributes  = 10
	maxAttributeNameLen   = 256
	maxAttributeTypeLen   = 256
	attrAWSTraceHeader    = "AWSTraceHeader"
	maxNumberPrecision    = 38
	maxNumberExponent     = 126
	minNumberExponentBase = -128
)

// parseMessageAttributes validates the MessageAttributes of a send and
// returns them sorted by name, the order digests and responses use.
func parseMessageAttributes(in map[string]attributeValueInput) ([]messageAttribute, *apiError) {
	if len(in) == 0 {
		return nil, nil
	}
	if len(in) > maxMessageAttributes {
		return nil, kindInvalidParameterValue.new("Number of message attributes [%d] exceeds the allowed maximum [%d].", len(in), maxMessageAttributes)
	}
	out := make([]messageAttribute, 0, len(in))
	for name, v := range in {
		if !validAttributeName(name) {
			return nil, kindInvalidParameterValue.new("Message (user) attribute name '%s' is invalid. Attribute names may contain alphanumerics, '-', '_' and '.', may not start or end with '.' or contain '..', may not start with 'AWS.' or 'Amazon.', and are at most 256 characters.", name)
		}
		a, err := parseAttributeValue("Message (user) attribute", name, v)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b messageAttribute) int { return strings.Compare(a.name, b.name) })
	return out, nil
}

// parseSystemAttributes validates MessageSystemAttributes: only
// AWSTraceHeader, of type String, exists.
func parseSystemAttributes(in map[string]attributeValueInput) ([]messageAttribute, *apiError) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make([]messageAttribute, 0, len(in))
	for name, v := range in {
		if name != attrAWSTraceHeader {
			return nil, kindInvalidParameterValue.new("Message system attribute name '%s' is invalid.", name)
		}
		a, err := parseAttributeValue("Message system attribute", name, v)
		if err != nil {
			return nil, err
		}
		if a.dataType != "String" {
			return nil, kindInvalidParameterValue.new("Message system attribute '%s' must be of type 'String'.", name)
		}
		out = append(out, a)
	}
	return out, nil
}

func parseAttributeValue(kind, name string, v attributeValueInput) (messageAttribute, *apiError) {
	a := messageAttribute{name: name}
	if v.DataType == nil || *v.DataType == "" {
		return a, kindInvalidParameterValue.new("%s '%s' must contain a non-empty attribute type.", kind, name)
	}
	a.dataType = *v.DataType
	base, custom, _ := strings.Cut(a.dataType, ".")
	if len(a.dataType) > maxAttributeTypeLen || strings.Contains(custom, "..") {
		return a, kindInvalidParameterValue.new("%s '%s' has an invalid type '%s'.", kind, name, a.dataType)
	}
	if len(v.StringListValues) > 0 || len(v.BinaryListValues) > 0 {
		return a, kindInvalidParameterValue.new("Message attribute list values in SendMessage operation are not supported.")
	}
	switch base {
	case "String", "Number":
		if v.StringValue == nil || *v.StringValue == "" {
			return a, kindInvalidParameterValue.new("%s '%s' with type '%s' must use field 'String'.", kind, name, base)
		}
		a.str = *v.StringValue
		if !validMessageChars(a.str) {
			return a, kindInvalidParameterValue.new("%s '%s' value contains invalid characters.", kind, name)
		}
		if base == "Number" && !validNumber(a.str) {
			return a, kindInvalidParameterValue.new("Can't cast the value of message (user) attribute '%s' to a number.", name)
		}
	case "Binary":
		if len(v.BinaryValue) == 0 {
			return a, kindInvalidParameterValue.new("%s '%s' with type 'Binary' must use field 'Binary'.", kind, name)
		}
		a.bin = v.BinaryValue
	default:
		return a, kindInvalidParameterValue.new("The type of %s '%s' is invalid. You must use only the following supported type prefixes: Binary, Number, String.", strings.ToLower(kind), name)
	}
	return a, nil
}

func validAttributeName(name string) bool {
	if name == "" || len(name) > maxAttributeNameLen || name[0] == '.' || name[len(name)-1] == '.' || strings.Contains(name, "..") {
		return false
	}
	lower := strings.ToLower(name)
	if strings.HasPrefix(lower, "aws.") || strings.HasPrefix(lower, "amazon.") {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !isIDChar(name[i]) && name[i] != '.' {
			return false
		}
	}
	return true
}

// validNumber accepts what SQS accepts for Number attributes: a decimal
// number with at most 38 significant digits between -10^128 and 10^126.
func validNumber(s string) bool {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return false
	}
	if strings.ContainsAny(s, "xXpP_") || strings.EqualFold(strings.TrimLeft(s, "+-"), "inf") {
		return false // hex floats and underscores ParseFloat accepts
	}
	mantissa, _, _ := strings.Cut(strings.ToLower(s), "e")
	digits := strings.TrimLeft(strings.NewReplacer("-", "", "+", "", ".", "").Replace(mantissa), "0")
	if len(digits) > maxNumberPrecision {
		return false
	}
	if f != 0 && (math.Abs(f) >= math.Pow10(maxNumberExponent) || math.Abs(f) < math.Pow10(minNumberExponentBase)) {
		return false
	}
	return true
}

// validMessageChars reports whether s holds only the characters SQS allows:
// #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF.
func validMessageChars(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return false
		}
		if r >= 0xD800 && r <= 0xDFFF || r == 0xFFFE || r == 0xFFFF {
			return false
		}
		i += size
	}
	return true
}

// md5Hex is the hex MD5 digest the SDK compares MD5OfMessageBody with.
func md5Hex(s string) string {
	sum := md5.Sum(unsafe.Slice(unsafe.StringData(s), len(s))) // read only: no copy of the body
	return hex.EncodeToString(sum[:])
}

// md5OfAttributes is the digest SQS returns as MD5OfMessageAttributes (and
// MD5OfMessageSystemAttributes): for each attribute in name order, the
// 4-byte big-endian length and bytes of the name, then of the data type, one
// transport byte (1 string, 2 binary), then the length and bytes of the
// value. It is "" for no attributes.
func md5OfAttributes(attrs []messageAttribute) string {
	if len(attrs) == 0 {
		return ""
	}
	n := 0
	for i := range attrs {
		n += 13 + attrs[i].size()
	}
	buf := make([]byte, 0, n)
	for i := range attrs {
		a := &attrs[i]
		buf = appendLenPrefixed(buf, a.name)
		buf = appendLenPrefixed(buf, a.dataType)
		if a.binary() {
			buf = append(buf, 2)
			buf = binary.BigEndian.AppendUint32(buf, uint32(len(a.bin)))
			buf = append(buf, a.bin...)
		} else {
			buf = append(buf, 1)
			buf = appendLenPrefixed(buf, a.str)
		}
	}
	sum := md5.Sum(buf)
	return hex.EncodeToString(sum[:])
}

func appendLenPrefixed(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// selectAttributes returns the attributes whose names match the
// MessageAttributeNames of a receive: "All", ".*", "prefix.*" or exact names.
func selectAttributes(attrs []messageAttribute, names []string) []messageAttribute {
	if len(attrs) == 0 || len(names) == 0 {
		return nil
	}
	for _, n := range names {
		if n == "All" || n == ".*" {
			return attrs
		}
	}
	var out []messageAttribute
	for _, a := range attrs {
		for _, n := range names {
			if prefix, ok := strings.CutSuffix(n, ".*"); ok && strings.HasPrefix(a.name, prefix+".") || a.name == n {
				out = append(out, a)
				break
			}
		}
	}
	return out
}
