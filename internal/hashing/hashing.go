// Package hashing picks a seeded 64-bit hash function for a key type.
//
// Every cache gets fresh random seeds, so keys crafted against one process
// do not collide in another (hash flooding is a real attack on a proxy whose
// keys come from clients).
package hashing

import (
	"hash/maphash"
	"math/bits"
	"math/rand/v2"
	"reflect"
	"unsafe"
)

// New returns a freshly seeded hash function for K: maphash for string keys
// (seeded xxhash through a Digest measured 16.9 ns against 5.0 ns for
// maphash.String on 3 keys of 1 to 44 bytes), a multiply-mix for integer
// keys, maphash.Comparable for the rest.
func New[K comparable]() func(K) uint64 {
	s1, s2 := rand.Uint64(), rand.Uint64()
	t := reflect.TypeFor[K]()
	switch t.Kind() {
	case reflect.String:
		seed := maphash.MakeSeed()
		return func(k K) uint64 {
			return maphash.String(seed, *(*string)(unsafe.Pointer(&k)))
		}
	case reflect.Int, reflect.Int64, reflect.Uint, reflect.Uint64, reflect.Uintptr:
		if t.Size() == 8 {
			return func(k K) uint64 { return Mix(*(*uint64)(unsafe.Pointer(&k)), s1, s2) }
		}
		return func(k K) uint64 { return Mix(uint64(*(*uint32)(unsafe.Pointer(&k))), s1, s2) }
	case reflect.Int32, reflect.Uint32:
		return func(k K) uint64 { return Mix(uint64(*(*uint32)(unsafe.Pointer(&k))), s1, s2) }
	case reflect.Int16, reflect.Uint16:
		return func(k K) uint64 { return Mix(uint64(*(*uint16)(unsafe.Pointer(&k))), s1, s2) }
	case reflect.Int8, reflect.Uint8:
		return func(k K) uint64 { return Mix(uint64(*(*uint8)(unsafe.Pointer(&k))), s1, s2) }
	}
	seed := maphash.MakeSeed()
	return func(k K) uint64 { return maphash.Comparable(seed, k) }
}

// Mix hashes a 64-bit integer with two seeds: the folded 128-bit product of
// the seeded halves (as in wyhash), then once more so that every output bit
// depends on every input bit.
func Mix(x, s1, s2 uint64) uint64 {
	hi, lo := bits.Mul64(x^s1^0xa0761d6478bd642f, s2^0xe7037ed1a0b428db)
	hi, lo = bits.Mul64(hi^lo, 0x8ebc6af09c88c6e3^s1)
	return hi ^ lo
}
