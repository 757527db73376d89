using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;

using Tempo.Engine;
using Tempo.Reports;
using Tempo.Simulation.Fidelity;
using Tempo.Simulation.Profiles;

namespace Tempo.Cli;

/// <summary>
/// <c>tempo fidelity</c>: how closely the simulator with a cost profile matches a real engine. Step latency: every step
/// a real server logged (<c>tempo serve --step-log</c>) priced by the profile. Requests: a measured run
/// (<c>tempo bench --records</c>) joined with a simulated run of the same workload (<c>tempo simulate --records</c>).
/// </summary>
internal static class FidelityCommand
{
    // NaN stays readable: an empty error distribution (no request with a first token, say) is not an error.
    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    private static readonly Option<string> ProfileOption = new("--profile") { Description = "cost profile the simulator used (built-in name or JSON file)", Required = true };

    private static readonly Option<string[]> StepsOption = new("--steps") { Description = "step log(s) of the real server (tempo serve --step-log); repeatable", AllowMultipleArgumentsPerToken = true };

    private static readonly Option<string?> RealOption = new("--real") { Description = "records CSV of the measured run (tempo bench --records)" };

    private static readonly Option<string?> SimOption = new("--sim") { Description = "records CSV of the simulated run (tempo simulate --records)" };

    private static readonly Option<string?> JsonOption = new("--json") { Description = "also write the figures as JSON to this file" };

    public static Command Create()
    {
        var command = new Command("fidelity", "Compare the simulator with a real engine: per-step latency error over a server's step log, per-request TTFT/E2E error and attainment per class between a measured and a simulated run.");
        foreach (var option in new Option[] { ProfileOption, StepsOption, RealOption, SimOption, JsonOption })
        {
            command.Options.Add(option);
        }

        command.SetAction(parse => CliErrors.Guard(() => Run(parse)));
        return command;
    }

    private static int Run(ParseResult parse)
    {
        var profile = CostProfile.Load(parse.GetValue(ProfileOption)!);
        var stepLogs = parse.GetValue(StepsOption) ?? [];
        var real = parse.GetValue(RealOption);
        var sim = parse.GetValue(SimOption);
        if ((real is null) != (sim is null))
        {
            throw new CliUsageException("--real and --sim go together: the measured and the simulated records of the same workload");
        }

        if (stepLogs.Length == 0 && real is null)
        {
            throw new CliUsageException("nothing to compare: give --steps and/or --real with --sim");
        }

        var steps = stepLogs.Select(path => (Name: Path.GetFileNameWithoutExtension(path), Fidelity: StepFidelity.Of(ReadSteps(path), profile))).ToArray();
        var requests = new List<RequestFidelity>();
        if (real is not null)
        {
            var realRows = RecordRow.Read(real);
            var simRows = RecordRow.Read(sim!);
            foreach (var policy in realRows.Select(r => r.Policy).Distinct(StringComparer.Ordinal).Where(p => simRows.Any(s => s.Policy == p)))
            {
                requests.Add(RequestFidelity.Of(policy, realRows, simRows));
            }

            if (requests.Count == 0)
            {
                throw new CliUsageException($"no policy is in both {real} and {sim}; label the bench run with the policy name (tempo bench --label NAME)");
            }
        }

        Console.Out.Write(Table(profile.Name, steps, requests));
        if (parse.GetValue(JsonOption) is { } json)
        {
            WriteJson(json, profile.Name, steps, requests);
        }

        return 0;
    }

    private static IReadOnlyList<LoggedStep> ReadSteps(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"--steps: no file '{path}'");
        }

        return StepLog.Read(path);
    }

    private static string Table(string profile, (string Name, StepFidelity Fidelity)[] steps, IReadOnlyList<RequestFidelity> requests)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(inv, $"profile {profile}");
        if (steps.Length > 0)
        {
            sb.AppendLine("step latency, (predicted - measured) / measured:");
            sb.AppendLine("  log                  kind      steps  median|err|  p90|err|  mean err  busy ratio");
            foreach (var (name, f) in steps)
            {
                sb.AppendLine(inv, $"  {name,-20} {"all",-8} {f.All.Count,6} {f.All.Median,10:0.0}% {f.All.P90,8:0.0}% {f.All.MeanSigned,8:+0.0;-0.0}% {f.BusyRatio,10:0.000}");
                foreach (var (kind, e) in f.ByKind)
                {
                    sb.AppendLine(inv, $"  {"",-20} {kind,-8} {e.Count,6} {e.Median,10:0.0}% {e.P90,8:0.0}% {e.MeanSigned,8:+0.0;-0.0}%");
                }

                sb.AppendLine(inv, $"  {"",-20} {"by shape",-8} {f.ByShape.Count,6} {f.ByShape.Median,10:0.0}% {f.ByShape.P90,8:0.0}% {f.ByShape.MeanSigned,8:+0.0;-0.0}%   (shape medians: the model's error without single-step noise)");
                sb.AppendLine(inv, $"  {"",-20} {"noise",-8} {f.NoiseFloor.Count,6} {f.NoiseFloor.Median,10:0.0}% {f.NoiseFloor.P90,8:0.0}% {f.NoiseFloor.MeanSigned,8:+0.0;-0.0}%   (each step vs its shape's median: the floor for any model)");
            }
        }

        foreach (var r in requests)
        {
            sb.AppendLine(inv, $"requests, policy {r.Policy}: {r.Matched} matched, same SLO verdict for {100 * r.SameVerdict:0.0}%");
            sb.AppendLine(inv, $"  TTFT  |err| median {r.TtftPct.Median:0.0}% p90 {r.TtftPct.P90:0.0}%  (|err| median {r.TtftMs.Median:0} ms, p90 {r.TtftMs.P90:0} ms, mean {r.TtftMs.MeanSigned:+0;-0} ms)");
            sb.AppendLine(inv, $"  E2E   |err| median {r.E2ePct.Median:0.0}% p90 {r.E2ePct.P90:0.0}%  (|err| median {r.E2eMs.Median:0} ms, p90 {r.E2eMs.P90:0} ms, mean {r.E2eMs.MeanSigned:+0;-0} ms)");
            sb.AppendLine("  attainment   measured  simulated  difference (points)");
            foreach (var (cls, (realA, simA)) in r.Attainment)
            {
                sb.AppendLine(inv, $"  {cls,-12} {100 * realA,8:0.0}% {100 * simA,9:0.0}%  {100 * (simA - realA),+8:+0.0;-0.0}");
            }
        }

        return sb.ToString();
    }

    private static void WriteJson(string path, string profile, IReadOnlyList<(string Name, StepFidelity Fidelity)> steps, IReadOnlyList<RequestFidelity> requests)
    {
        var doc = new Dictionary<string, object>
        {
            ["profile"] = profile,
            ["steps"] = steps.ToDictionary(s => s.Name, s => (object)new { all = s.Fidelity.All, by_kind = s.Fidelity.ByKind, busy_ratio = s.Fidelity.BusyRatio, by_shape = s.Fidelity.ByShape, noise_floor = s.Fidelity.NoiseFloor }),
            ["requests"] = requests.Select(r => new
            {
                policy = r.Policy,
                matched = r.Matched,
                same_verdict = r.SameVerdict,
                ttft_pct = r.TtftPct,
                e2e_pct = r.E2ePct,
                ttft_ms = r.TtftMs,
                e2e_ms = r.E2eMs,
                attainment = r.Attainment.ToDictionary(a => a.Key, a => new { real = a.Value.Real, simulated = a.Value.Simulated }),
            }).ToArray(),
        };
        AtomicFile.WriteAllText(path, JsonSerializer.Serialize(doc, JsonOptions));
    }
}
