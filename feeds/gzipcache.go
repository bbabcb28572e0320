package feeds

import (
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/binary"
	"hash/crc32"
	"runtime"
	"sync"
)

// Packages.gz is built from independently compressed chunks of stanzas, like pigz --independent:
// each chunk is a deflate stream ended by a sync flush, so the chunks concatenate into one valid
// deflate stream. The chunk boundaries depend on the packages (not on their position), so adding
// one package to a large feed changes one chunk and the others come from the cache. This keeps a
// republish into 10,000 packages from recompressing megabytes.
const (
	chunkTarget = 16 << 10 // aim for about this many bytes per chunk
	chunkMax    = 64 << 10
	chunkCut    = 24 // a stanza ends a chunk when its key's first byte is below this (≈1 in 11)
)

// gzCache keeps compressed chunks of one feed between publishes.
type gzCache struct {
	mu     sync.Mutex
	chunks map[[32]byte][]byte
}

// gzStanza is one stanza to compress and what identifies its bytes (for the cache).
type gzStanza struct {
	id   [32]byte
	text []byte
}

// gzipStanzas returns the gzip file of the concatenated stanzas followed by tail, reusing and
// refreshing cache (which may be nil).
func gzipStanzas(stanzas []gzStanza, tail []byte, cache *gzCache) []byte {
	// Cut into chunks.
	type span struct {
		from, to int
		key      [32]byte
	}
	var spans []span
	h := sha256.New()
	size, from := 0, 0
	for i, s := range stanzas {
		h.Write(s.id[:])
		size += len(s.text)
		last := i == len(stanzas)-1
		if last || size >= chunkMax || size >= chunkTarget/4 && s.id[0] < chunkCut {
			var k [32]byte
			h.Sum(k[:0])
			spans = append(spans, span{from, i + 1, k})
			h.Reset()
			size, from = 0, i+1
		}
	}
	out := make([][]byte, len(spans))
	var missing []int
	if cache != nil {
		cache.mu.Lock()
		for i, sp := range spans {
			if c, ok := cache.chunks[sp.key]; ok {
				out[i] = c
			} else {
				missing = append(missing, i)
			}
		}
		cache.mu.Unlock()
	} else {
		for i := range spans {
			missing = append(missing, i)
		}
	}
	// Compress what the cache lacks, in parallel.
	var wg sync.WaitGroup
	work := make(chan int)
	for range min(runtime.GOMAXPROCS(0), max(len(missing), 1)) {
		wg.Go(func() {
			var buf bytes.Buffer
			zw, _ := flate.NewWriter(&buf, flate.BestCompression)
			for i := range work {
				buf.Reset()
				zw.Reset(&buf)
				for _, s := range stanzas[spans[i].from:spans[i].to] {
					zw.Write(s.text)
				}
				zw.Flush()
				out[i] = bytes.Clone(buf.Bytes())
			}
		})
	}
	for _, i := range missing {
		work <- i
	}
	close(work)
	wg.Wait()
	if cache != nil {
		fresh := make(map[[32]byte][]byte, len(spans))
		for i, sp := range spans {
			fresh[sp.key] = out[i]
		}
		cache.mu.Lock()
		cache.chunks = fresh // drop chunks no longer used
		cache.mu.Unlock()
	}

	// Assemble: header, chunks, the tail, an empty final block, CRC-32 and length.
	total := 0
	for _, c := range out {
		total += len(c)
	}
	gz := make([]byte, 0, total+len(tail)+64)
	gz = append(gz, 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3) // deflate, no name, mtime 0, best, Unix
	for _, c := range out {
		gz = append(gz, c...)
	}
	crc := crc32.NewIEEE()
	n := 0
	for _, s := range stanzas {
		crc.Write(s.text)
		n += len(s.text)
	}
	if len(tail) > 0 {
		var buf bytes.Buffer
		zw, _ := flate.NewWriter(&buf, flate.BestCompression)
		zw.Write(tail)
		zw.Flush()
		gz = append(gz, buf.Bytes()...)
		crc.Write(tail)
		n += len(tail)
	}
	gz = append(gz, 0x03, 0x00) // a final, empty block with fixed Huffman codes
	gz = binary.LittleEndian.AppendUint32(gz, crc.Sum32())
	return binary.LittleEndian.AppendUint32(gz, uint32(n))
}
