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
        root.Subcommands.Add(BoundCommand.Create());
        root.Subcommands.Add(PredictorCommand.Create());
        root.Subcommands.Add(MakeModelCommand.Create());
        root.Subcommands.Add(ServeCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(CalibrateCommand.Create());
        root.Subcommands.Add(FidelityCommand.Create());
        root.Subcommands.Add(ReplayCommand.Create());
        root.Subcommands.Add(PlanCommand.Create());
        root.Subcommands.Add(GatewayCommand.Create());
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            // One line per problem instead of the full help text: scripts and people both read it faster.
            foreach (var error in parse.Errors)
            {
                Console.Error.WriteLine($"tempo: error: {error.Message}");
            }

            return CliErrors.BadInput;
        }

        return parse.Invoke();
    }
}
