import Readings

/// The registry's devices, stored for a city's fleet: one packed row per
/// device in an array, found through an index from id to row, with codec,
/// zone and station names kept once each. A `[DeviceID: Device]` dictionary
/// kept its 160-byte values in slots reserved at a 3/4 load: about 46 MB
/// for 100,000 devices before any string. Rows are 64 bytes, the index
/// 20 bytes a slot. A `Device` is made when one is asked for.
public struct RegisteredDevices: Sendable {
    /// One device, packed. Coordinates fit an Int32 (|10^-7 degrees| ≤ 1.8e9 < 2^31).
    struct Row: Sendable {
        var id: DeviceID
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
    private var index: [DeviceID: Int32] = [:]
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
        index.reserveCapacity(capacity)
    }

    /// Room for `additional` more devices.
    public mutating func reserve(_ additional: Int) {
        rows.reserveCapacity(rows.count + additional)
        index.reserveCapacity(rows.count + additional)
    }

    public var count: Int { rows.count }
    public var isEmpty: Bool { rows.isEmpty }

    public subscript(id: DeviceID) -> Device? {
        index[id].map { device(at: Int($0)) }
    }

    public func contains(_ id: DeviceID) -> Bool { index[id] != nil }

    /// Every device, in the order they were listed.
    public var values: LazyMapSequence<Range<Int>, Device> { rows.indices.lazy.map { device(at: $0) } }
    public var keys: LazyMapSequence<Range<Int>, DeviceID> { rows.indices.lazy.map { rows[$0].id } }

    /// Adds a device; false (and nothing changed) when its id is already there.
    /// A device whose values do not fit the packed row (none the registry
    /// file accepts) is refused the same way, never trapped on.
    @discardableResult
    public mutating func insert(_ device: Device) -> Bool {
        guard index[device.id] == nil, let row = pack(device) else { return false }
        index[device.id] = Int32(rows.count)
        rows.append(row)
        return true
    }

    private mutating func pack(_ device: Device) -> Row? {
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
        return Row(id: device.id, name: device.name, reportingIntervalMillis: device.reportingIntervalMillis,
                   longitude: longitude ?? Self.noCoordinate, latitude: latitude ?? Self.noCoordinate, zone: zone, station: station,
                   codec: UInt16(codec), binDepthMillimetres: binDepth, sensorOffsetMillimetres: sensorOffset, kind: device.kind)
    }

    private func device(at position: Int) -> Device {
        let row = rows[position]
        return Device(id: row.id, name: row.name, codecID: codecs.names[Int(row.codec)], kind: row.kind, zone: places.name(row.zone),
                      longitude: row.longitude == Self.noCoordinate ? nil : Int64(row.longitude),
                      latitude: row.latitude == Self.noCoordinate ? nil : Int64(row.latitude),
                      binDepthMillimetres: row.binDepthMillimetres == 0 ? nil : Int64(row.binDepthMillimetres),
                      sensorOffsetMillimetres: Int64(row.sensorOffsetMillimetres), station: places.name(row.station),
                      reportingIntervalMillis: row.reportingIntervalMillis)
    }
}
