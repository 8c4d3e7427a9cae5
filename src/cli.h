/* cli.h: the subcommands of the depthsolve program and shared CLI helpers. */
#ifndef DS_CLI_H
#define DS_CLI_H

/* Exit codes shared by every command. */
enum { DS_EXIT_OK = 0, DS_EXIT_FAILED = 1, DS_EXIT_USAGE = 2 };

typedef struct ds_cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
} ds_cli_command;

extern const ds_cli_command ds_cli_commands[]; /* NULL-terminated, in cli_commands.c */

#endif
