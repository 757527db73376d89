using System.CommandLine;

namespace Tempo.Cli;

/// <summary>Entry point of the <c>tempo</c> command.</summary>
public static class Program
{
    /// <summary>Runs the command line; returns the process exit code.</summary>
    public static int Main(string[] args)
    {
        var root = new RootCommand("Tempo: SLO-aware LLM serving. Compare schedulers by service gain in a calibrated simulator.");
        root.Subcommands.Add(SimulateCommand.Create());
        root.Subcommands.Add(PredictorCommand.Create());
        return root.Parse(args).Invoke();
    }
}
