using System.CommandLine;
using System.Globalization;
using System.Text;

using Spectre.Console;

using Tempo.Core;
using Tempo.Reports;
using Tempo.Simulation.Bounds;
using Tempo.Simulation.Profiles;
using Tempo.Workloads;

namespace Tempo.Cli;

/// <summary>
/// <c>tempo bound</c>: the most service gain and the most on-time requests any scheduler could get on a workload, and
/// the shortest the run could last, on the simulator's engine (<see cref="GainBound"/>). It takes the same workload
/// options as <c>tempo simulate</c>, so a policy's goodput can be read as a share of what the workload allows.
/// </summary>
internal static class BoundCommand
{
    private static readonly Option<int> TokenBudgetOption = new("--token-budget")
    {
        Description = "tokens per step of the engine bounded (512: the chunked budget of tempo, jitserve, sarathi and the other chunked policies)",
        DefaultValueFactory = _ => 512,
    };

    private static readonly Option<string> FormatOption = new("--format", "-f")
    {
        Description = "stdout format: table or csv",
        DefaultValueFactory = _ => "table",
    };

    private static readonly Option<int> PlanesOption = new("--planes")
    {
        Description = "step-price planes tried; the bound is the tightest (more: tighter and slower)",
        DefaultValueFactory = _ => GainBound.DefaultPlanes,
    };

    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var command = new Command("bound", "Upper bounds on the service gain and on-time requests any scheduler can get on a workload, and a lower bound on the run's duration.");
        foreach (var option in new Option[] { SimulateCommand.WorkloadOption, SimulateCommand.RatesOption, SimulateCommand.RequestsOption, SimulateCommand.ProfileOption, SimulateCommand.MaxBatchOption, TokenBudgetOption, SimulateCommand.SeedOption, FormatOption, SimulateCommand.ArrivalOption, SimulateCommand.CvOption, PlanesOption })
        {
            command.Options.Add(option);
        }

        WorkloadScaleOptions.AddTo(command);
        command.SetAction(parse => CliErrors.Guard(() => Run(parse)));
        return command;
    }

    private static int Run(ParseResult parse)
    {
        var format = parse.GetValue(FormatOption)!.Trim().ToLowerInvariant();
        if (format is not ("table" or "csv"))
        {
            throw new CliUsageException($"--format: use table or csv, got '{format}'");
        }

        var planes = parse.GetValue(PlanesOption);
        if (planes is < 2 or > StepCostPlane.MaxCount)
        {
            throw new CliUsageException($"--planes must be from 2 to {StepCostPlane.MaxCount}, got {planes}");
        }

        var workloadName = parse.GetValue(SimulateCommand.WorkloadOption)!;
        var rates = OptionParsing.PositiveNumbers(parse.GetValue(SimulateCommand.RatesOption)!, "--rates");
        var maxBatch = OptionParsing.Positive(parse.GetValue(SimulateCommand.MaxBatchOption), "--max-batch");
        var tokenBudget = OptionParsing.Positive(parse.GetValue(TokenBudgetOption), "--token-budget");
        if (tokenBudget > StepCostPlane.MaxTokenBudget)
        {
            throw new CliUsageException($"--token-budget must be at most {StepCostPlane.MaxTokenBudget} for a bound, got {tokenBudget}");
        }

        var options = WorkloadScaleOptions.Read(parse).Apply(new WorkloadOptions
        {
            Requests = OptionParsing.Positive(parse.GetValue(SimulateCommand.RequestsOption), "--requests"),
            Seed = parse.GetValue(SimulateCommand.SeedOption),
            Arrival = OptionParsing.Arrival(parse.GetValue(SimulateCommand.ArrivalOption)!),
            BurstCv = OptionParsing.PositiveCv(parse.GetValue(SimulateCommand.CvOption)),
        });
        var model = new CostModel(CostProfile.Load(parse.GetValue(SimulateCommand.ProfileOption)!));

        var rows = new List<(double Rate, string Workload, int Requests, GainBoundResult Bound)>();
        foreach (var rate in rates)
        {
            var workload = WorkloadCatalog.Create(workloadName, options with { Rate = rate });
            Console.Error.WriteLine($"bounding {workload.Name} at {Num(rate)}/s ({workload.Requests.Count} requests)");
            rows.Add((rate, workload.Name, workload.Requests.Count, GainBound.Of(workload, model, maxBatch, tokenBudget, GainWeights.Paper, planes)));
        }

        if (format == "csv")
        {
            Console.Out.Write(Csv(rows));
        }
        else
        {
            Table(rows, model.Profile.Name, maxBatch, tokenBudget);
        }

        return 0;
    }

    private static string Csv(List<(double Rate, string Workload, int Requests, GainBoundResult Bound)> rows)
    {
        var csv = new StringBuilder("workload,rate,requests,service_gain_bound,slo_met_bound,duration_lower_s,service_goodput_bound,slo_goodput_bound,decode_ms_per_token,prefill_ms_per_token\n");
        foreach (var (rate, name, requests, b) in rows)
        {
            csv.AppendLine(string.Join(',', CsvText.Field(name), Num(rate), requests.ToString(CultureInfo.InvariantCulture), Num(b.ServiceGain), Num(b.SloMet), Num(b.DurationS), Num(b.ServiceGoodput), Num(b.SloGoodput), Num(b.Plane.DecodeS * 1000), Num(b.Plane.PrefillS * 1000)));
        }

        return csv.ToString();
    }

    private static void Table(List<(double Rate, string Workload, int Requests, GainBoundResult Bound)> rows, string profile, int maxBatch, int tokenBudget)
    {
        var table = new Table().Title($"no scheduler does better: {Markup.Escape(rows[0].Workload)} on {Markup.Escape(profile)}, batch {maxBatch}, {tokenBudget} tokens a step");
        foreach (var column in new[] { "rate/s", "requests", "service gain ≤", "on time ≤", "duration ≥ (s)", "service goodput ≤", "SLO goodput ≤" })
        {
            table.AddColumn(new TableColumn(column).RightAligned());
        }

        foreach (var (rate, _, requests, b) in rows)
        {
            table.AddRow(Num(rate), requests.ToString(CultureInfo.InvariantCulture), b.ServiceGain.ToString("N0", CultureInfo.InvariantCulture), b.SloMet.ToString("N1", CultureInfo.InvariantCulture), b.DurationS.ToString("N1", CultureInfo.InvariantCulture), b.ServiceGoodput.ToString("N0", CultureInfo.InvariantCulture), b.SloGoodput.ToString("N2", CultureInfo.InvariantCulture));
        }

        AnsiConsole.Write(table);
    }

    private static string Num(double value) => value.ToString("0.######", CultureInfo.InvariantCulture);
}
