// Debian: libmosquitto-dev (pkg-config libmosquitto).
#ifndef _GNU_SOURCE
#define _GNU_SOURCE  // ppoll
#endif
#include <poll.h>
#include <time.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>

// Whether `socket` has bytes to read within `nanoseconds` (ppoll: poll's
// timeout is whole milliseconds; Glibc's module does not bring ppoll).
static inline int cmosquitto_readable_within(int socket, long long nanoseconds) {
    struct pollfd descriptor = { socket, POLLIN, 0 };
    struct timespec timeout = { (time_t)(nanoseconds / 1000000000), (long)(nanoseconds % 1000000000) };
    return ppoll(&descriptor, 1, &timeout, NULL) > 0 && (descriptor.revents & POLLIN) != 0;
}
