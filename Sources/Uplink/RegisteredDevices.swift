import Readings

/// The registry's devices, stored for a city's fleet: one packed row per
/// device in an array, found through an index from id to row, with codec,
/// zone and station names kept once each. A `[DeviceID: Device]` dictionary
/// kept its 160-byte values in slots reserved at a 3/4 load: about 46 MB
/// for 100,000 devices before any string. Rows are 64 bytes, the index
/// 12 bytes a slot. A `Device` is made when one is asked for.
///
/// DevEUIs (16 lowercase hex digits, nearly every LoRaWAN id) are kept and
/// looked up as their 64-bit value (`PackedDeviceID`); other ids (IMEIs,
/// TTS device ids) by their text. With 100,000 devices sending, a lookup by
/// text missed the CPU cache twice (the slot, then the id's own storage to
/// compare it) and the Device made from the row retained that storage
/// again: about 0.5 µs of each uplink (Benchmarks/RESULTS.md, issue 17).
public struct RegisteredDevices: Sendable {
    /// One device, packed. Coordinates fit an Int32 (|10^-7 degrees| ≤ 1.8e9 < 2^31).
    struct Row: Sendable {
        /// The DevEUI's value; 0 for a device whose id is text (`textIDs` has it).
        var eui: UInt64
        var name: String?
        var reportingIntervalMillis: Int64?
        var longitude: Int32
        var latitude: Int32
        var zone: Int32
        var station: Int32
        var codec: UInt16
        var binDepthMillimetres: Int16
        var sensorOffsetMillimetres: Int16
        var kind: SensorKind
    }

    static let none: Int32 = -1
    static let noCoordinate = Int32.min

    private var rows: [Row] = []
    /// Row positions, by DevEUI value and by the text of any other id.
    private var euiIndex: [UInt64: Int32] = [:]
    private var textIndex: [DeviceID: Int32] = [:]
    /// The ids that are text, by row position.
    private var textIDs: [Int32: DeviceID] = [:]
    /// Names used by many devices, each kept once: zones and stations
    /// (`places`), and codec ids (`codecs`, at most 65,535: a codec's
    /// position fits the row's UInt16; a catalog has tens).
    private var places = NameTable()
    private var codecs = NameTable()

    struct NameTable: Sendable {
        var names: [String] = []
        var positions: [String: Int32] = [:]

        mutating func intern(_ name: String?, limit: Int) -> Int32? {
            guard let name else { return RegisteredDevices.none }
            if let found = positions[name] { return found }
            guard names.count < limit else { return nil }
            let position = Int32(names.count)
            names.append(name)
            positions[name] = position
            return position
        }

        func name(_ position: Int32) -> String? { position == RegisteredDevices.none ? nil : names[Int(position)] }
    }

    /// `capacity`: how many devices are expected (reserved up front, so
    /// loading 100,000 does not rehash and copy on the way).
    public init(capacity: Int = 0) {
        rows.reserveCapacity(capacity)
        euiIndex.reserveCapacity(capacity)
    }

    /// Room for `additional` more devices.
    public mutating func reserve(_ additional: Int) {
        rows.reserveCapacity(rows.count + additional)
        euiIndex.reserveCapacity(rows.count + additional)
    }

    public var count: Int { rows.count }
    public var isEmpty: Bool { rows.isEmpty }

    public subscript(id: DeviceID) -> Device? {
        // The device takes the caller's id: equal to the row's, and already at hand.
        position(of: PackedDeviceID(id)).map { device(at: Int($0), id: id) }
    }

    public func contains(_ id: DeviceID) -> Bool { position(of: PackedDeviceID(id)) != nil }

    private func position(of id: PackedDeviceID) -> Int32? {
        switch id {
        case let .eui(value): euiIndex[value]
        case let .text(text): textIndex[text]
        }
    }

    /// Every device, in the order they were listed.
    public var values: LazyMapSequence<Range<Int>, Device> { rows.indices.lazy.map { device(at: $0, id: id(at: $0)) } }
    public var keys: LazyMapSequence<Range<Int>, DeviceID> { rows.indices.lazy.map { id(at: $0) } }

    private func id(at position: Int) -> DeviceID {
        textIDs[Int32(position)] ?? PackedDeviceID.eui(rows[position].eui).text
    }

    /// Adds a device; false (and nothing changed) when its id is already there.
    /// A device whose values do not fit the packed row (none the registry
    /// file accepts) is refused the same way, never trapped on.
    @discardableResult
    public mutating func insert(_ device: Device) -> Bool {
        let id = PackedDeviceID(device.id)
        guard position(of: id) == nil, let row = pack(device, id: id) else { return false }
        switch id {
        case let .eui(value): euiIndex[value] = Int32(rows.count)
        case let .text(text):
            textIndex[text] = Int32(rows.count)
            textIDs[Int32(rows.count)] = text
        }
        rows.append(row)
        return true
    }

    private mutating func pack(_ device: Device, id: PackedDeviceID) -> Row? {
        func coordinate(_ value: Int64?) -> Int32?? {
            guard let value else { return .some(nil) }
            guard let narrow = Int32(exactly: value), narrow != Self.noCoordinate else { return nil }
            return .some(narrow)
        }
        // Numbers first, names after: a refused device leaves no name behind.
        guard let longitude = coordinate(device.longitude), let latitude = coordinate(device.latitude),
              let sensorOffset = Int16(exactly: device.sensorOffsetMillimetres) else { return nil }
        var binDepth: Int16 = 0
        if let depth = device.binDepthMillimetres {
            guard let narrow = Int16(exactly: depth), narrow > 0 else { return nil }
            binDepth = narrow
        }
        guard let codec = codecs.intern(device.codecID, limit: Int(UInt16.max)),
              let zone = places.intern(device.zone, limit: Int(Int32.max - 1)), let station = places.intern(device.station, limit: Int(Int32.max - 1))
        else { return nil }
        let eui: UInt64 = if case let .eui(value) = id { value } else { 0 }
        return Row(eui: eui, name: device.name, reportingIntervalMillis: device.reportingIntervalMillis,
                   longitude: longitude ?? Self.noCoordinate, latitude: latitude ?? Self.noCoordinate, zone: zone, station: station,
                   codec: UInt16(codec), binDepthMillimetres: binDepth, sensorOffsetMillimetres: sensorOffset, kind: device.kind)
    }

    /// `id`: the device's id (the row keeps a DevEUI as its value only).
    private func device(at position: Int, id: DeviceID) -> Device {
        let row = rows[position]
        return Device(id: id, name: row.name, codecID: codecs.names[Int(row.codec)], kind: row.kind, zone: places.name(row.zone),
                      longitude: row.longitude == Self.noCoordinate ? nil : Int64(row.longitude),
                      latitude: row.latitude == Self.noCoordinate ? nil : Int64(row.latitude),
                      binDepthMillimetres: row.binDepthMillimetres == 0 ? nil : Int64(row.binDepthMillimetres),
                      sensorOffsetMillimetres: Int64(row.sensorOffsetMillimetres), station: places.name(row.station),
                      reportingIntervalMillis: row.reportingIntervalMillis)
    }
}

/// A device id as the registry keys it: a DevEUI (exactly 16 lowercase hex
/// digits, as ChirpStack and the registry write them) as its 64-bit value,
/// any other id as its text. Only lowercase digits pack, so two ids that
/// differ in case stay two ids, as they were by text, and unpacking gives
/// back the very text packed.
enum PackedDeviceID: Sendable {
    case eui(UInt64)
    case text(String)

    init(_ id: String) {
        var bytes = id
        self = bytes.withUTF8(Self.eui).map(PackedDeviceID.eui) ?? .text(id)
    }

    /// The value of 16 lowercase hex digits; nil for anything else.
    static func eui(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64? {
        guard bytes.count == 16 else { return nil }
        var value: UInt64 = 0
        for byte in bytes {
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte &- UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte &- UInt8(ascii: "a") &+ 10
            default: return nil
            }
            value = value << 4 | UInt64(digit)
        }
        return value
    }

    /// The id as text: a DevEUI's 16 lowercase digits, zero-padded.
    var text: String {
        switch self {
        case let .text(text): return text
        case let .eui(value):
            let digits = String(value, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }
    }
}
