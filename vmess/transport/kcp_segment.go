package transport

import (
	"encoding/binary"
	"errors"
)

// mKCP segments as Xray's transport/internet/kcp (segment.go) lays them
// out, all big-endian: conv(2) ‖ cmd(1) ‖ option(1), then
//
//	data: timestamp(4) ‖ number(4) ‖ sendingNext(4) ‖ length(2) ‖ payload
//	ack:  receivingWindow(4) ‖ receivingNext(4) ‖ timestamp(4) ‖ count(1) ‖ count×number(4)
//	ping, terminate: sendingNext(4) ‖ receivingNext(4) ‖ peerRTO(4)
//
// A datagram may hold several segments back to back.

// mKCP commands.
const (
	kcpCmdAck       = 0
	kcpCmdData      = 1
	kcpCmdTerminate = 2
	kcpCmdPing      = 3
)

// kcpOptionClose marks segments sent after the sender closed its side.
const kcpOptionClose = 1

// kcpDataOverhead is a data segment's header; mss = mtu - overhead.
const kcpDataOverhead = 18

// kcpMaxAcks is the most numbers one ack segment carries (Xray's
// ackNumberLimit).
const kcpMaxAcks = 128

// kcpSegment is one parsed segment; which fields are set depends on cmd.
type kcpSegment struct {
	conv   uint16
	cmd    byte
	option byte

	// data
	timestamp   uint32
	number      uint32
	sendingNext uint32
	payload     []byte // aliases the datagram

	// ack (timestamp is shared with data)
	receivingWindow uint32
	receivingNext   uint32
	acks            []uint32

	// ping and terminate (sendingNext and receivingNext are shared)
	peerRTO uint32
}

// errKCPSegment is the cause when a datagram holds a malformed segment.
var errKCPSegment = errors.New("transport: malformed mKCP segment")

// parseKCPSegments appends the segments of datagram b to dst. Like
// Xray's KCPPacketReader it stops at the first one that does not parse;
// what parsed before is kept. Ack numbers are appended to numbers, which
// the segments alias.
func parseKCPSegments(b []byte, dst []kcpSegment, numbers []uint32) ([]kcpSegment, []uint32, error) {
	for len(b) > 0 {
		if len(b) < 4 {
			return dst, numbers, errKCPSegment
		}
		s := kcpSegment{conv: binary.BigEndian.Uint16(b), cmd: b[2], option: b[3]}
		b = b[4:]
		switch s.cmd {
		case kcpCmdData:
			if len(b) < 14 {
				return dst, numbers, errKCPSegment
			}
			s.timestamp = binary.BigEndian.Uint32(b)
			s.number = binary.BigEndian.Uint32(b[4:])
			s.sendingNext = binary.BigEndian.Uint32(b[8:])
			n := int(binary.BigEndian.Uint16(b[12:]))
			b = b[14:]
			if len(b) < n {
				return dst, numbers, errKCPSegment
			}
			s.payload, b = b[:n:n], b[n:]
		case kcpCmdAck:
			if len(b) < 13 {
				return dst, numbers, errKCPSegment
			}
			s.receivingWindow = binary.BigEndian.Uint32(b)
			s.receivingNext = binary.BigEndian.Uint32(b[4:])
			s.timestamp = binary.BigEndian.Uint32(b[8:])
			count := int(b[12])
			b = b[13:]
			if len(b) < 4*count {
				return dst, numbers, errKCPSegment
			}
			start := len(numbers)
			for i := 0; i < count; i++ {
				numbers = append(numbers, binary.BigEndian.Uint32(b[4*i:]))
			}
			s.acks = numbers[start:len(numbers):len(numbers)]
			b = b[4*count:]
		default: // ping, terminate and unknown commands, as Xray reads them
			if len(b) < 12 {
				return dst, numbers, errKCPSegment
			}
			s.sendingNext = binary.BigEndian.Uint32(b)
			s.receivingNext = binary.BigEndian.Uint32(b[4:])
			s.peerRTO = binary.BigEndian.Uint32(b[8:])
			b = b[12:]
		}
		dst = append(dst, s)
	}
	return dst, numbers, nil
}

// appendKCPData appends a data segment.
func appendKCPData(dst []byte, conv uint16, option byte, timestamp, number, sendingNext uint32, payload []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, conv)
	dst = append(dst, kcpCmdData, option)
	dst = binary.BigEndian.AppendUint32(dst, timestamp)
	dst = binary.BigEndian.AppendUint32(dst, number)
	dst = binary.BigEndian.AppendUint32(dst, sendingNext)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(payload)))
	return append(dst, payload...)
}

// appendKCPAck appends an ack segment for numbers (at most kcpMaxAcks).
func appendKCPAck(dst []byte, conv uint16, option byte, receivingWindow, receivingNext, timestamp uint32, numbers []uint32) []byte {
	dst = binary.BigEndian.AppendUint16(dst, conv)
	dst = append(dst, kcpCmdAck, option)
	dst = binary.BigEndian.AppendUint32(dst, receivingWindow)
	dst = binary.BigEndian.AppendUint32(dst, receivingNext)
	dst = binary.BigEndian.AppendUint32(dst, timestamp)
	dst = append(dst, byte(len(numbers)))
	for _, n := range numbers {
		dst = binary.BigEndian.AppendUint32(dst, n)
	}
	return dst
}

// appendKCPCommand appends a ping or terminate segment.
func appendKCPCommand(dst []byte, conv uint16, cmd, option byte, sendingNext, receivingNext, peerRTO uint32) []byte {
	dst = binary.BigEndian.AppendUint16(dst, conv)
	dst = append(dst, cmd, option)
	dst = binary.BigEndian.AppendUint32(dst, sendingNext)
	dst = binary.BigEndian.AppendUint32(dst, receivingNext)
	return binary.BigEndian.AppendUint32(dst, peerRTO)
}
