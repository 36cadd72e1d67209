import Codecs
import FoundationEssentials
import Readings
import TOML

/// Loads layout codec files (`Config/codecs/*.toml`) into `LayoutCodec`
/// plans, strictly: every error names the file, key and line. The format is
/// documented in `Config/codecs/README.md`.
enum LayoutCodecFile {
    static func loadDirectory(_ directory: String, into catalog: inout CodecCatalog, issues: ConfigIssues) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for name in names.sorted() where name.hasSuffix(".toml") {
            let path = PathText.join(directory, name)
            if let codec = load(path: path, issues: issues) {
                if catalog.codec(codec.id) != nil {
                    issues.errors.append(ConfigError(file: path, key: "id", line: nil, reason: "codec '\(codec.id)' is already defined"))
                } else {
                    catalog.add(codec)
                }
            }
        }
    }

    static func load(path: String, issues: ConfigIssues) -> LayoutCodec? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            issues.errors.append(ConfigError(file: path, key: "", line: nil, reason: "cannot read the codec file"))
            return nil
        }
        let document: TOMLTable
        do {
            document = try TOMLParser.parse(text)
        } catch {
            issues.errors.append(ConfigError(file: path, key: "", line: error.line, reason: "syntax: \(error.message) (column \(error.column))"))
            return nil
        }
        let before = issues.errors.count
        var root = TableReader(table: document, path: "", file: path, issues: issues)
        let id = root.string("id")
        _ = root.string("description")
        let shapeName = root.string("shape", oneOf: ["fixed", "tag_stream"])
        let order = root.string("byte_order", oneOf: ["big", "little"]).flatMap(LayoutCodec.ByteOrder.init(rawValue:)) ?? .big
        let fPorts = root.integers("fports", in: 0...255).map { Set($0.map { Int($0) }) }
        if id == nil { root.fail("id", "required") }
        if let id, !(id.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 || $0 == 58 } && !id.isEmpty) {
            root.fail("id", "'\(id)' must be lowercase letters, digits, '-' and ':' (family:model)")
        }
        if shapeName == nil && document["shape"] == nil { root.fail("shape", "required (fixed or tag_stream)") }
        var shape: LayoutCodec.Shape?
        if shapeName == "fixed" {
            let exact = root.integer("length", in: 1...256)
            let minimum = root.integer("min_length", in: 1...256)
            let maximum = root.integer("max_length", in: 1...256)
            var fields: [(offset: Int, value: LayoutCodec.ValueSpec)] = []
            for var field in root.tables("field") {
                let offset = field.integer("offset", in: 0...255)
                if offset == nil && field.table["offset"] == nil { field.fail("offset", "required") }
                if let spec = valueSpec(&field, defaultName: "field at \(offset ?? 0)", order: order), let offset {
                    fields.append((Int(offset), spec))
                }
                field.finish()
            }
            if fields.isEmpty { root.fail("field", "a fixed layout needs at least one [[field]]") }
            let needed = fields.map { $0.offset + $0.value.type.width }.max() ?? 1
            let low = Int(exact ?? minimum ?? Int64(needed)), high = Int(exact ?? maximum ?? 256)
            if low < needed { root.fail(exact != nil ? "length" : "min_length", "fields need \(needed) bytes") }
            else if low > high { root.fail("max_length", "is below the minimum length \(low)") }
            else { shape = .fixed(fields: fields, length: low...high) }
        } else if shapeName == "tag_stream" {
            let header = root.integer("header_bytes", in: 0...64) ?? 0
            var tags: [UInt8: LayoutCodec.ValueSpec] = [:]
            for var entry in root.tables("tag") {
                let tag = entry.integer("tag", in: 0...255)
                if tag == nil && entry.table["tag"] == nil { entry.fail("tag", "required (0x00...0xFF)") }
                if let spec = valueSpec(&entry, defaultName: "tag \(tag ?? 0)", order: order), let tag {
                    if tags[UInt8(tag)] != nil { entry.fail("tag", "tag \(tag) is defined twice") } else { tags[UInt8(tag)] = spec }
                }
                entry.finish()
            }
            if tags.isEmpty { root.fail("tag", "a tag stream needs at least one [[tag]]") }
            shape = .tagStream(headerBytes: Int(header), tags: tags)
        }
        root.finish()
        guard issues.errors.count == before, let id, let shape else { return nil }
        return LayoutCodec(id: id, shape: shape, fPorts: fPorts)
    }

    static func valueSpec(_ table: inout TableReader, defaultName: String, order: LayoutCodec.ByteOrder) -> LayoutCodec.ValueSpec? {
        let name = table.string("name") ?? defaultName
        let type = table.string("type", oneOf: LayoutCodec.IntegerType.allCases.map(\.rawValue)).flatMap(LayoutCodec.IntegerType.init(rawValue:))
        if type == nil && table.table["type"] == nil { table.fail("type", "required (u8, s8, u16, s16, u24, s24, u32, s32)") }
        let byteOrder = table.string("byte_order", oneOf: ["big", "little"]).flatMap(LayoutCodec.ByteOrder.init(rawValue:)) ?? order
        let mask = table.integer("mask", in: 0...0xFFFF_FFFF).map { UInt32($0) }
        let sentinels = table.integers("sentinel", in: Int64(Int32.min)...0xFFFF_FFFF) ?? []
        var metric: Metric?
        if let metricName = table.string("metric") {
            metric = Metric.named(metricName)
            if metric == nil { table.fail("metric", "unknown metric '\(metricName)'; known: \(Metric.all.map(\.name).joined(separator: ", "))") }
        }
        let channel = table.integer("channel", in: 0...255).map { Int($0) }
        let multiply = table.integer("multiply", in: -1_000_000...1_000_000) ?? 1
        let divide = table.integer("divide", in: 1...1_000_000_000) ?? 1
        if multiply == 0 { table.fail("multiply", "must not be 0") }
        guard let type else { return nil }
        return LayoutCodec.ValueSpec(name: name, type: type, byteOrder: byteOrder, mask: mask, sentinels: sentinels,
                                     metric: metric, channel: channel, multiply: multiply, divide: divide)
    }
}
