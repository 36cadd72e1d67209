// first-call-trace: which functions of a program run, in the order they first
// run. scripts/symbol-order.sh uses it to write the list of functions the
// linker places together at the start of citygate's code (issue 17: the
// kernel maps code 64 KiB around every page touched, so start-up functions
// scattered over 12 MiB of code made 7 MiB of it resident).
//
// The program file has already been patched: the first byte of every function
// is an int3 (0xCC). This tracer runs it under ptrace; when a thread stops on
// one of those traps, the function's address is written to the output, its
// first byte is put back (in the process's memory, not the file) and the
// thread goes on from the function's start. Each function traps once, so the
// program runs at nearly full speed after its first seconds. Threads are
// followed (PTRACE_O_TRACECLONE); every other signal is passed on, so the
// program can be stopped with SIGTERM as usual.
//
// Usage: first-call-trace ENTRIES OUTPUT PROGRAM [ARGS...]
//   ENTRIES: one line per patched function, "address-in-file-hex original-byte-hex",
//            the address as in `nm` (relative to the load address).
//   OUTPUT:  one line per function that ran, its address in hex, in first-call order.
#if !defined(__x86_64__)
// The trap is x86-64's one-byte int3 and the registers are x86-64's. The
// list it writes is names, so an arm64 build links with the same list.
#error "first-call-trace runs on x86-64 only"
#endif
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
    uint64_t address;       // as nm prints it: relative to where the program is loaded
    unsigned char original; // the byte the int3 replaced
    char restored;
} PatchedEntry;

static PatchedEntry *entries;
static size_t entryCount;

static int byAddress(const void *a, const void *b) {
    uint64_t x = ((const PatchedEntry *)a)->address, y = ((const PatchedEntry *)b)->address;
    return x < y ? -1 : x > y;
}

static PatchedEntry *entryAt(uint64_t address) {
    size_t low = 0, high = entryCount;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (entries[middle].address < address) low = middle + 1; else high = middle;
    }
    return low < entryCount && entries[low].address == address ? &entries[low] : NULL;
}

// Where the program's first mapping (file offset 0) starts once exec has loaded it.
static uint64_t loadAddress(pid_t pid) {
    char path[64], exe[4096], line[8192];
    snprintf(path, sizeof path, "/proc/%d/exe", pid);
    ssize_t length = readlink(path, exe, sizeof exe - 1);
    if (length <= 0) return 0;
    exe[length] = 0;
    snprintf(path, sizeof path, "/proc/%d/maps", pid);
    FILE *maps = fopen(path, "r");
    if (!maps) return 0;
    uint64_t base = 0;
    while (fgets(line, sizeof line, maps)) {
        unsigned long start, offset;
        int nameAt = 0;
        if (sscanf(line, "%lx-%*x %*s %lx %*s %*s %n", &start, &offset, &nameAt) >= 2 && nameAt > 0) {
            char *name = line + nameAt;
            name[strcspn(name, "\n")] = 0;
            if (offset == 0 && strcmp(name, exe) == 0) { base = start; break; }
        }
    }
    fclose(maps);
    return base;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: first-call-trace ENTRIES OUTPUT PROGRAM [ARGS...]\n");
        return 2;
    }
    FILE *list = fopen(argv[1], "r");
    if (!list) { perror(argv[1]); return 2; }
    size_t capacity = 1 << 16;
    entries = malloc(capacity * sizeof *entries);
    unsigned long address;
    unsigned int original;
    while (fscanf(list, "%lx %x", &address, &original) == 2) {
        if (entryCount == capacity) entries = realloc(entries, (capacity *= 2) * sizeof *entries);
        entries[entryCount++] = (PatchedEntry){address, (unsigned char)original, 0};
    }
    fclose(list);
    qsort(entries, entryCount, sizeof *entries, byAddress);
    FILE *output = fopen(argv[2], "w");
    if (!output) { perror(argv[2]); return 2; }
    setvbuf(output, NULL, _IOLBF, 0); // the program may be killed: every line counts

    pid_t program = fork();
    if (program == 0) {
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        raise(SIGSTOP); // lets the tracer set its options before exec
        execv(argv[3], argv + 3);
        perror(argv[3]);
        _exit(127);
    }
    int status;
    waitpid(program, &status, 0);
    ptrace(PTRACE_SETOPTIONS, program, 0, PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL);
    ptrace(PTRACE_CONT, program, 0, 0);

    uint64_t base = 0;
    long called = 0;
    int exitCode = 1;
    for (;;) {
        pid_t thread = waitpid(-1, &status, __WALL);
        if (thread < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (WIFEXITED(status) || WIFSIGNALED(status)) {
            if (thread == program) {
                exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                break;
            }
            continue;
        }
        if (!WIFSTOPPED(status)) continue;
        int signal = WSTOPSIG(status), event = status >> 16;
        if (event == PTRACE_EVENT_EXEC) {
            base = loadAddress(program);
            ptrace(PTRACE_CONT, thread, 0, 0);
            continue;
        }
        if (event) { // a new thread (PTRACE_EVENT_CLONE): nothing to do
            ptrace(PTRACE_CONT, thread, 0, 0);
            continue;
        }
        if (signal == SIGTRAP && base) {
            struct user_regs_struct registers;
            ptrace(PTRACE_GETREGS, thread, 0, &registers);
            uint64_t trapAt = registers.rip - 1; // int3 leaves the instruction pointer after itself
            PatchedEntry *entry = entryAt(trapAt - base);
            if (entry) {
                if (!entry->restored) { // another thread may have stopped here before the byte went back
                    errno = 0;
                    long word = ptrace(PTRACE_PEEKTEXT, thread, (void *)trapAt, 0);
                    if (errno) { perror("PTRACE_PEEKTEXT"); return 1; }
                    word = (long)(((unsigned long)word & ~0xffUL) | entry->original);
                    ptrace(PTRACE_POKETEXT, thread, (void *)trapAt, (void *)word);
                    entry->restored = 1;
                    called++;
                    fprintf(output, "%lx\n", (unsigned long)entry->address);
                }
                registers.rip = trapAt;
                ptrace(PTRACE_SETREGS, thread, 0, &registers);
                ptrace(PTRACE_CONT, thread, 0, 0);
                continue;
            }
        }
        if (signal == SIGSTOP && thread != program) { // a new thread's first stop
            ptrace(PTRACE_CONT, thread, 0, 0);
            continue;
        }
        ptrace(PTRACE_CONT, thread, 0, (void *)(long)signal); // the program's own signal
    }
    fprintf(stderr, "first-call-trace: %ld of %zu functions ran; the program exited with %d\n", called, entryCount, exitCode);
    return exitCode;
}
