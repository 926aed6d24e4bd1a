// The kiewatch executable: only wiring. Each subcommand lives in its own file.
#if canImport(Glibc)
import Glibc
#endif

exit(await CommandRouter.run(Array(CommandLine.arguments.dropFirst())))
