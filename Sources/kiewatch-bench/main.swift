// kiewatch-bench: prints figures and ratios measured in one run. Only wiring here; each
// scenario lives in its own file.
#if canImport(Glibc)
import Glibc
#endif

exit(await BenchmarkRunner.run(Array(CommandLine.arguments.dropFirst())))
