using System.CommandLine;
using System.Globalization;
using System.Text;

using Tempo.Core;

using Tempo.Engine;
using Tempo.Reports;
using Tempo.Scheduling;
using Tempo.Simulation.Fidelity;
using Tempo.Simulation.Profiles;

namespace Tempo.Cli;

/// <summary>
/// <c>tempo replay</c>: replays a server's step trace (<c>tempo serve --step-log</c>) through the simulator's engine
/// core with the same policy, at the real engine's times and step durations, and reports the first step the policy
/// plans differently. That step is where simulation and the real engine part, with the same inputs.
/// </summary>
internal static class ReplayCommand
{
    private static readonly Option<string> TraceOption = new("--trace") { Description = "step trace a server wrote (tempo serve --step-log FILE)", Required = true };

    private static readonly Option<string?> PolicyOption = new("--policy") { Description = "policy to replay (default: the one the server ran, from the trace)" };

    // The tempo options (--tempo-without, ...) must be those the server ran with.
    private static readonly Option<string> PredictorOption = new("--predictor") { Description = "length predictor the server ran with: fixed or qrf (needs --predictor-model)", DefaultValueFactory = _ => "fixed" };

    private static readonly Option<string?> PredictorModelOption = new("--predictor-model") { Description = "QRF model file the server ran with" };

    private static readonly Option<string?> RecordsOption = new("--records") { Description = "write the replayed engine's per-request records to this CSV (as tempo simulate --records)" };

    private static readonly Option<string?> ProfileOption = new("--profile") { Description = "instead of the measured step times, price every step with this cost profile (built-in name or JSON file): the run with only the step times modelled" };

    private static readonly Option<bool> ShedOption = new("--shed-unattainable") { Description = "the server ran with --shed-unattainable" };

    public static Command Create()
    {
        var command = new Command("replay", "Replay a server's step trace with the same policy at the real engine's times and find the first step the policy plans differently.");
        foreach (var option in new Option[] { TraceOption, PolicyOption, PredictorOption, PredictorModelOption, ShedOption, RecordsOption, ProfileOption })
        {
            command.Options.Add(option);
        }

        TempoAblationOptions.AddTo(command);
        command.SetAction(parse => CliErrors.Guard(() => Run(parse)));
        return command;
    }

    /// <summary>The run's figures as the engine saw them: latencies from arrival at the engine to each token.</summary>
    private static string EngineSide(IReadOnlyList<RequestRecord> records)
    {
        var m = RunMetrics.Compute(records, GainWeights.Paper);
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(inv, $"engine-side figures of the replayed run: {records.Count} requests, service goodput {m.ServiceGoodput:0.0}/s, SLO goodput {m.SloGoodput:0.000}/s, attainment {m.Attainment:P1}, jobs met {m.JobsMet}/{m.Jobs}");
        foreach (var (cls, c) in m.ByClass.Where(kv => kv.Value.Requests > 0))
        {
            sb.AppendLine(inv, $"  {cls.ToString().ToLowerInvariant(),-11} attainment {c.Attainment,6:P1}  ttft p50/p95 {c.Ttft.P50:0.000}/{c.Ttft.P95:0.000} s  tbt p95 {c.Tbt.P95 * 1000:0.0} ms");
        }

        return sb.ToString();
    }

    private static int Run(ParseResult parse)
    {
        var path = parse.GetValue(TraceOption)!;
        if (!File.Exists(path))
        {
            throw new CliUsageException($"--trace: no file '{path}'");
        }

        var recordsFile = OptionParsing.RecordsFile(parse.GetValue(RecordsOption));

        var trace = StepTrace.Read(path);
        var policy = PolicyRegistry.Get(parse.GetValue(PolicyOption) ?? trace.Policy);
        var shed = parse.GetValue(ShedOption);
        if (shed && !policy.Sheds)
        {
            throw new CliUsageException($"--shed-unattainable: policy '{policy.Name}' does not shed");
        }

        var scheduler = policy.Create(new SchedulerOptions
        {
            Engine = trace.Engine,
            Predictor = ServeCommand.ServerPredictor(parse.GetValue(PredictorOption)!, parse.GetValue(PredictorModelOption)),
            ShedUnattainable = shed,
            SelectEdf = TempoAblationOptions.Read(parse).Select,
        });
        IReadOnlyList<RequestRecord> ended;
        if (parse.GetValue(ProfileOption) is { } profile)
        {
            var model = new CostModel(CostProfile.Load(profile));
            ended = TraceReplay.Simulate(trace, scheduler, model);
            Console.Out.WriteLine($"policy {policy.Name}: the trace's requests with step times from profile {model.Profile.Name}");
        }
        else
        {
            var result = TraceReplay.Run(trace, scheduler);
            Console.Out.Write(result.Describe());
            if (result.First is not null)
            {
                return 0;
            }

            ended = result.Records;
        }

        Console.Out.Write(EngineSide(ended));
        if (recordsFile is { } records)
        {
            RecordsCsv.Write(records, [new RunRecords(policy.Name + "-replay", 0, ended, GainWeights.Paper)]);
            Console.Error.WriteLine($"wrote {ended.Count} request records to {records}");
        }

        return 0;
    }
}
