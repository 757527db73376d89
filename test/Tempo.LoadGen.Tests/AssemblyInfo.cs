// The timing tests measure milliseconds against a server in the same process; running other test classes (and the
// CLI tests, which block a pool thread in Program.Main) beside them starves the thread pool and adds jitter.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
