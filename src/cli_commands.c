/* cli_commands.c: the table of subcommands. */
#include "cli.h"

const ds_cli_command ds_cli_commands[] = {
    {0, 0, 0},
};
