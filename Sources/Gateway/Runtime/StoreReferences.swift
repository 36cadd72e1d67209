import Hubs
import Store

/// SQLite-backed memory of the ids a hub gave us.
struct StoreReferences: HubReferenceStore {
    let store: GatewayStore
    func reference(hub: String, key: String) -> String? { try? store.hubRef(hub: hub, key: key) }
    func remember(hub: String, key: String, reference: String) { try? store.setHubRef(hub: hub, key: key, ref: reference) }
    func forget(hub: String, key: String) { try? store.deleteHubRef(hub: hub, key: key) }
}
