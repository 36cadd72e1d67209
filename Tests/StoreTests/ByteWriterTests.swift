import Testing
@testable import Store

/// The encoders' writer (`ByteWriter`): its digits are Swift's own, its words
/// read back through `BlobReader`, and a bound too small stops the process
/// rather than writing past the buffer.
@Suite struct ByteWriterTests {
    /// Each value's digits are what Swift's own description gives, at the
    /// edges of Int64 and over random values, in `maximumDecimalCount` bytes.
    @Test func decimalsAreWrittenAsSwiftWritesThem() {
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        var values: [Int64] = [.min, .min + 1, .max, .max - 1, 0, -1, 1, 9, 10, -10, 99, 100, 1_000_000_000_000_000_000, -999_999_999_999_999_999]
        for power in 1...18 {
            let ten = (0..<power).reduce(Int64(1)) { value, _ in value * 10 }
            values += [ten - 1, ten, ten + 1, -ten, -(ten - 1)]
        }
        for _ in 0..<2_000 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            values.append(Int64(bitPattern: state) >> Int64(state % 64))
        }
        for value in values {
            let text = ByteWriter.string(capacity: ByteWriter.maximumDecimalCount) { $0.decimal(value) }
            #expect(text == String(value))
        }
    }

    /// Words, bytes and text in a row read back as they were written, and
    /// the array holds exactly what was written, not its capacity.
    @Test func wordsAndTextReadBack() throws {
        let words: [UInt64] = [0, 1, 0x0102_0304_0506_0708, .max, 1 << 63]
        let bytes = ByteWriter.array(capacity: 100) { out in
            for word in words { out.word(word) }
            out.byte(0xAB)
            out.utf8("pm2_5", limit: 3)
            out.utf8("°C")
        }
        #expect(bytes.count == 8 * words.count + 1 + 3 + 3)
        var reader = BlobReader(bytes, damaged: StoreDataError(message: "short"))
        for word in words { #expect(try reader.word() == word) }
        #expect(try reader.byte() == 0xAB)
        #expect(Array(try reader.bytes(3)) == Array("pm2".utf8))
        #expect(Array(try reader.bytes(3)) == Array("°C".utf8))
        #expect(reader.isAtEnd)
        #expect(ByteWriter.array(capacity: 0) { _ in }.isEmpty)
    }

    /// A bound one byte short stops the process (a bug in an encoder's
    /// arithmetic must not write past the buffer); the exact bound does not.
    @Test func writingPastTheBoundStopsTheProcess() async {
        #expect(ByteWriter.array(capacity: 8) { $0.word(7) }.count == 8)
        await #expect(processExitsWith: .failure) {
            _ = ByteWriter.array(capacity: 7) { $0.word(7) }
        }
        await #expect(processExitsWith: .failure) {
            _ = ByteWriter.string(capacity: 19) { $0.decimal(.min) }
        }
    }
}
