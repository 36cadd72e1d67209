// Debian: libmosquitto-dev (pkg-config libmosquitto).
#include <mosquitto.h>
#include <mqtt_protocol.h>
