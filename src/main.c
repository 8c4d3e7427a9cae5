/* main.c: the depthsolve command line; dispatches to src/cmd_*.c. */
#include <stdio.h>
#include <string.h>

#include "src/cli.h" /* command table */
#include "depthsolve.h"

static void usage(FILE *f) {
    fprintf(f, "usage: depthsolve <command> [options]\n\ncommands:\n");
    for (const ds_cli_command *c = ds_cli_commands; c->name; c++)
        fprintf(f, "  %-10s %s\n", c->name, c->summary);
    fprintf(f, "\n'depthsolve <command> --help' describes a command.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (!strcmp(name, "-h") || !strcmp(name, "--help") || !strcmp(name, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(name, "--version") || !strcmp(name, "version")) {
        printf("depthsolve %d.%d.%d\n", DS_VERSION_MAJOR, DS_VERSION_MINOR, DS_VERSION_PATCH);
        return 0;
    }
    for (const ds_cli_command *c = ds_cli_commands; c->name; c++)
        if (!strcmp(name, c->name))
            return c->run(argc - 1, argv + 1);
    fprintf(stderr, "depthsolve: unknown command '%s' (see 'depthsolve --help')\n", name);
    return 2;
}
