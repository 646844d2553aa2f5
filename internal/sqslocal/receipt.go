package sqslocal

import (
	"encoding/binary"
	"hash/crc32"
)

// receipt is what a receipt handle designates: one receive of one message
// of one incarnation of a queue. Each receive draws a new nonce, so a
// handle from an earlier receive is recognisably stale.
type receipt struct {
	incarnation uint64
	id          msgID
	nonce       uint64
}

const (
	receiptVersion = 1
	receiptLen     = 1 + 8 + 16 + 8 + 4 // version, incarnation, id, nonce, crc32
	maxHandleLen   = 1024
)

func (r receipt) String() string {
	var b [receiptLen]byte
	b[0] = receiptVersion
	binary.BigEndian.PutUint64(b[1:], r.incarnation)
	copy(b[9:], r.id[:])
	binary.BigEndian.PutUint64(b[25:], r.nonce)
	binary.BigEndian.PutUint32(b[33:], crc32.ChecksumIEEE(b[:33]))
	return b64.EncodeToString(b[:])
}

// parseReceipt decodes a handle; false means malformed (ReceiptHandleIsInvalid).
func parseReceipt(h string) (receipt, bool) {
	if len(h) != b64.EncodedLen(receiptLen) {
		return receipt{}, false
	}
	var b [receiptLen + 2]byte
	n, err := b64.Decode(b[:], []byte(h))
	if err != nil || n != receiptLen || b[0] != receiptVersion {
		return receipt{}, false
	}
	if binary.BigEndian.Uint32(b[33:]) != crc32.ChecksumIEEE(b[:33]) {
		return receipt{}, false
	}
	var r receipt
	r.incarnation = binary.BigEndian.Uint64(b[1:])
	copy(r.id[:], b[9:25])
	r.nonce = binary.BigEndian.Uint64(b[25:])
	return r, r.nonce != 0
}
