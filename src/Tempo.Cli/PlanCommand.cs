using System.CommandLine;
using System.Globalization;
using System.Text.Json;

using Spectre.Console;

using Tempo.Scheduling;
using Tempo.Simulation.Experiments;
using Tempo.Simulation.Profiles;
using Tempo.Workloads;

namespace Tempo.Cli;

/// <summary>
/// <c>tempo plan</c>: the fewest replicas each (engine policy, router) pair needs to reach a target attainment on a
/// workload at a fleet arrival rate, found by fleet simulation, and the saving against sarathi behind round-robin.
/// </summary>
internal static class PlanCommand
{
    /// <summary>The reference every saving is measured against: the strongest baseline engine behind the plainest router.</summary>
    public const string ReferencePolicy = "sarathi";

    /// <summary>Router of the reference pair.</summary>
    public const string ReferenceRouter = "round-robin";

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private static readonly Option<string> WorkloadOption = new("--workload", "-w") { Description = "workload, as for simulate", DefaultValueFactory = _ => "mixed" };
    private static readonly Option<double> RateOption = new("--rate", "-r") { Description = "the fleet's top-level arrivals per second", Required = true };
    private static readonly Option<double> TargetOption = new("--target-attainment") { Description = "fraction of requests that must meet their SLO", DefaultValueFactory = _ => 0.9 };
    private static readonly Option<string> PoliciesOption = new("--policies", "-p") { Description = "engine policies, comma-separated", DefaultValueFactory = _ => "tempo,sarathi" };
    private static readonly Option<string> RoutersOption = new("--routers") { Description = "routers, comma-separated", DefaultValueFactory = _ => string.Join(",", Fleet.RouterRegistry.Names) };
    private static readonly Option<int> RequestsOption = new("--requests", "-n") { Description = "top-level arrivals per simulation", DefaultValueFactory = _ => 1000 };
    private static readonly Option<int> SeedOption = new("--seed") { Description = "workload and policy seed", DefaultValueFactory = _ => 42 };
    private static readonly Option<string> ProfileOption = new("--profile") { Description = "cost profile of every replica", DefaultValueFactory = _ => "llama3.1-8b-a100" };
    private static readonly Option<int> MaxBatchOption = new("--max-batch") { Description = "sequences per step of every replica", DefaultValueFactory = _ => 32 };
    private static readonly Option<int> MaxReplicasOption = new("--max-replicas") { Description = "most replicas tried", DefaultValueFactory = _ => 64 };
    private static readonly Option<string> PredictorOption = new("--predictor") { Description = "length predictor: qrf (trained on a held-out sample), fixed or oracle", DefaultValueFactory = _ => "qrf" };
    private static readonly Option<string> FormatOption = new("--format", "-f") { Description = "table or json", DefaultValueFactory = _ => "table" };

    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var command = new Command("plan", "Find by fleet simulation the fewest replicas that reach a target SLO attainment, for each (engine policy, router) pair.");
        foreach (var option in new Option[] { WorkloadOption, RateOption, TargetOption, PoliciesOption, RoutersOption, RequestsOption, SeedOption, ProfileOption, MaxBatchOption, MaxReplicasOption, PredictorOption, FormatOption })
        {
            command.Options.Add(option);
        }

        WorkloadScaleOptions.AddTo(command);
        command.SetAction(parse => CliErrors.Guard(() => Run(parse)));
        return command;
    }

    private static int Run(ParseResult parse)
    {
        var policies = OptionParsing.List(parse.GetValue(PoliciesOption)!, "--policies").Select(p => PolicyRegistry.Get(p).Name).Distinct().ToList();
        var routers = OptionParsing.List(parse.GetValue(RoutersOption)!, "--routers").Select(OptionParsing.Router).Distinct().ToList();
        var rate = parse.GetValue(RateOption);
        if (!double.IsFinite(rate) || rate <= 0)
        {
            throw new CliUsageException($"--rate must be a positive number, got {rate.ToString(CultureInfo.InvariantCulture)}");
        }

        var target = parse.GetValue(TargetOption);
        if (!(target is > 0 and <= 1))
        {
            throw new CliUsageException($"--target-attainment must be in (0, 1], got {target.ToString(CultureInfo.InvariantCulture)}");
        }

        var format = parse.GetValue(FormatOption)!.Trim().ToLowerInvariant();
        if (format is not ("table" or "json"))
        {
            throw new CliUsageException($"--format: unknown format '{format}'; use table or json");
        }

        var maxReplicas = OptionParsing.Positive(parse.GetValue(MaxReplicasOption), "--max-replicas");
        var settings = new SimulateSettings
        {
            Workload = parse.GetValue(WorkloadOption)!,
            Policies = policies,
            Rates = [rate],
            Requests = OptionParsing.Positive(parse.GetValue(RequestsOption), "--requests"),
            Profile = parse.GetValue(ProfileOption)!,
            MaxBatch = OptionParsing.Positive(parse.GetValue(MaxBatchOption), "--max-batch"),
            Seed = parse.GetValue(SeedOption),
            Format = OutputFormat.Table,
            Arrival = ArrivalProcess.Reference,
            BurstCv = 2,
            Predictor = parse.GetValue(PredictorOption)!.Trim().ToLowerInvariant(),
            Scale = WorkloadScaleOptions.Read(parse),
        };
        if (!Scheduling.Prediction.LengthPredictors.Names.Contains(settings.Predictor))
        {
            throw new CliUsageException($"--predictor: unknown predictor '{settings.Predictor}'; use {string.Join(", ", Scheduling.Prediction.LengthPredictors.Names)}");
        }

        var profile = CostProfile.Load(settings.Profile);
        var options = settings.WorkloadOptionsFor(rate);
        var workload = WorkloadCatalog.Create(settings.Workload, options);
        var predictor = PredictorSetup.For(settings, options, Console.Error);
        var plan = new ExperimentPlan
        {
            Policies = policies,
            Rates = [rate],
            Workload = _ => workload,
            Profile = profile,
            MaxBatch = settings.MaxBatch,
            Seed = settings.Seed,
            ConfigureOptions = (_, o) => o with { Predictor = predictor },
        };

        // The reference pair is always answered, so every saving has something to be measured against.
        var pairs = policies.SelectMany(p => routers.Select(r => (Policy: p, Router: r))).ToList();
        if (!pairs.Contains((ReferencePolicy, ReferenceRouter)))
        {
            pairs.Add((ReferencePolicy, ReferenceRouter));
        }

        var gate = new Lock();
        var answers = new CapacityAnswer[pairs.Count];
        Parallel.For(0, pairs.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
        {
            answers[i] = CapacityPlanner.FewestReplicas(plan, pairs[i].Policy, pairs[i].Router, target, maxReplicas, (p, r, n, a) =>
            {
                lock (gate)
                {
                    Console.Error.WriteLine($"{p} + {r}: {n} replica{(n == 1 ? "" : "s")} -> attainment {a.ToString("P1", CultureInfo.InvariantCulture)}");
                }
            });
        });

        var reference = answers.Single(a => a.Policy == ReferencePolicy && a.Router == ReferenceRouter);
        if (format == "json")
        {
            Console.WriteLine(Json(answers, reference, target, rate, workload.Name));
        }
        else
        {
            Table(answers, reference, target, rate, workload.Name, maxReplicas);
        }

        return 0;
    }

    /// <summary>Fraction of the reference's replicas saved (null when either count is unknown).</summary>
    internal static double? Saving(CapacityAnswer answer, CapacityAnswer reference) =>
        answer.Replicas is { } n && reference.Replicas is { } r ? 1 - ((double)n / r) : null;

    private static string Json(IEnumerable<CapacityAnswer> answers, CapacityAnswer reference, double target, double rate, string workload)
    {
        var records = answers.Select(a => new Dictionary<string, object?>
        {
            ["policy"] = a.Policy,
            ["router"] = a.Router,
            ["replicas"] = a.Replicas,
            ["attainment"] = a.Attainment,
            ["service_goodput"] = a.ServiceGoodput,
            ["saving_vs_sarathi_round_robin"] = Saving(a, reference),
            ["workload"] = workload,
            ["rate"] = rate,
            ["target_attainment"] = target,
        });
        return JsonSerializer.Serialize(records, Indented);
    }

    private static void Table(IEnumerable<CapacityAnswer> answers, CapacityAnswer reference, double target, double rate, string workload, int maxReplicas)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out) });
        console.MarkupLine($"[bold]{Markup.Escape(workload)}[/] at {rate.ToString(CultureInfo.InvariantCulture)}/s, target attainment {target.ToString("P0", CultureInfo.InvariantCulture)}");
        var table = new Table().Border(TableBorder.Rounded);
        table.AddColumns("policy", "router", "replicas", "attainment", "gain/s", "saving vs sarathi + round-robin");
        foreach (var a in answers.OrderBy(a => a.Replicas ?? int.MaxValue).ThenByDescending(a => a.ServiceGoodput))
        {
            var saving = Saving(a, reference);
            table.AddRow(Markup.Escape(a.Policy), Markup.Escape(a.Router), a.Replicas?.ToString(CultureInfo.InvariantCulture) ?? $"> {maxReplicas}",
                a.Attainment.ToString("P1", CultureInfo.InvariantCulture), a.ServiceGoodput.ToString("N0", CultureInfo.InvariantCulture),
                saving is { } s ? s.ToString("P0", CultureInfo.InvariantCulture) : "-");
        }

        console.Write(table);
    }
}
