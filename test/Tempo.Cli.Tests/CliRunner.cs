namespace Tempo.Cli.Tests;

/// <summary>Runs the real entry point in-process with stdout and stderr captured.</summary>
internal static class CliRunner
{
    private static readonly Lock ConsoleGate = new();

    public static (int Exit, string Out, string Err) Run(params string[] args)
    {
        lock (ConsoleGate)
        {
            var (oldOut, oldErr) = (Console.Out, Console.Error);
            using var stdout = new StringWriter();
            using var stderr = new StringWriter();
            Console.SetOut(stdout);
            Console.SetError(stderr);
            try
            {
                var exit = Program.Main(args);
                return (exit, stdout.ToString(), stderr.ToString());
            }
            finally
            {
                Console.SetOut(oldOut);
                Console.SetError(oldErr);
            }
        }
    }
}
