using BenchmarkDotNet.Running;

namespace Tempo.Benchmarks;

/// <summary>
/// Benchmarks. <c>dotnet run -c Release --project benchmark/Tempo.Benchmarks -- latency [policy ...]</c> prints per-call
/// percentiles of scheduler decisions and KV block manager operations, <c>stepping [policy ...]</c> the same for decisions
/// timed inside real engine steps at a steady live count, <c>simulate-speed</c> the simulator's steps
/// per second and bytes per step; any other arguments go to BenchmarkDotNet (e.g. <c>--filter '*Replan*'</c>).
/// </summary>
public static class Program
{
    /// <summary>Entry point.</summary>
    public static void Main(string[] args)
    {
        if (args is ["latency", ..])
        {
            DecisionLatency.Run(Console.Out, args[1..]);
            return;
        }

        if (args is ["stepping", ..])
        {
            SteppingLatency.Run(Console.Out, args[1..]);
            return;
        }

        if (args is ["llama-throughput", ..])
        {
            LlamaThroughput.Run(args, Console.Out);
            return;
        }

        if (args is ["simulate-speed", ..])
        {
            SimulatorSpeed.Run(args[1..], Console.Out);
            return;
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}
