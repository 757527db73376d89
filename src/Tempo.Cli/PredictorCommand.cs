using System.CommandLine;
using System.Globalization;

using Spectre.Console;

using Tempo.Scheduling.Prediction;
using Tempo.Workloads;

namespace Tempo.Cli;

/// <summary><c>tempo predictor train|eval</c>: the QRF length predictor on workload data.</summary>
internal static class PredictorCommand
{
    private static readonly Option<string> Data = new("--data")
    {
        Description = "requests with true output lengths: a built-in workload name, a .jsonl workload or an Azure-format .csv trace",
        Required = true,
    };

    private static readonly Option<int?> Requests = new("--requests", "-n") { Description = "arrivals to read or generate (default: all rows / 3000 generated)" };
    private static readonly Option<int> Seed = new("--seed") { Description = "seed for generated data and the forest", DefaultValueFactory = _ => 42 };

    public static Command Create()
    {
        var command = new Command("predictor", "Train and evaluate the quantile-regression-forest length predictor.");
        command.Subcommands.Add(Train());
        command.Subcommands.Add(Eval());
        return command;
    }

    private static Command Train()
    {
        var outOption = new Option<string>("--out") { Description = "model file to write", Required = true };
        var trees = new Option<int>("--trees") { Description = "number of trees T", DefaultValueFactory = _ => 100 };
        var quantile = new Option<double>("--quantile") { Description = "bound quantile q", DefaultValueFactory = _ => 0.95 };
        var command = new Command("train", "Train a QRF on requests and save it.") { Data, Requests, Seed, outOption, trees, quantile };
        WorkloadScaleOptions.AddTo(command);
        command.SetAction(parse => CliErrors.Guard(() =>
        {
            var specs = Load(parse);
            var options = new QrfOptions
            {
                Trees = OptionParsing.Positive(parse.GetValue(trees), "--trees"),
                Quantile = parse.GetValue(quantile),
                Seed = parse.GetValue(Seed),
            };
            options.Validate();
            var watch = System.Diagnostics.Stopwatch.StartNew();
            var model = QrfLengthPredictor.Train(specs, options);
            var path = parse.GetValue(outOption)!;
            var temp = path + ".tmp";
            model.Save(temp);
            File.Move(temp, path, overwrite: true);
            Console.Error.WriteLine($"trained {options.Trees} trees on {specs.Count} requests in {watch.Elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s; wrote {path}");
            return 0;
        }));
        return command;
    }

    private static Command Eval()
    {
        var model = new Option<string?>("--model") { Description = "model file from 'tempo predictor train' (omit to evaluate --predictor)" };
        var predictor = new Option<string>("--predictor") { Description = "qrf (needs --model), fixed or oracle", DefaultValueFactory = _ => "qrf" };
        var command = new Command("eval", "Coverage and over-estimate of the length bound on held-out requests, with and without refinement.") { Data, Requests, Seed, model, predictor };
        WorkloadScaleOptions.AddTo(command);
        command.SetAction(parse => CliErrors.Guard(() =>
        {
            var name = parse.GetValue(predictor)!;
            var path = parse.GetValue(model);
            if (name == "qrf" && path is null)
            {
                throw new CliUsageException("--model is required to evaluate a qrf predictor");
            }

            var specs = Load(parse);
            var evaluation = PredictorEvaluation.Evaluate(LengthPredictors.Create(name, path), specs);
            Write(evaluation);
            return 0;
        }));
        return command;
    }

    private static List<Tempo.Core.RequestSpec> Load(ParseResult parse)
    {
        var n = parse.GetValue(Requests);
        if (n is { } count)
        {
            OptionParsing.Positive(count, "--requests");
        }

        // Scaled as simulate and bench scale it, so a predictor can be trained for a workload shrunk to a CPU model.
        var options = WorkloadScaleOptions.Read(parse).Apply(new WorkloadOptions { Requests = n, Seed = parse.GetValue(Seed) });
        var workload = WorkloadCatalog.Create(parse.GetValue(Data)!, options);
        return [.. workload.Requests];
    }

    private static void Write(PredictorEvaluation e)
    {
        var table = new Table().Border(TableBorder.Rounded);
        table.AddColumns("bound", "samples", "coverage", "mean over", "median over", "mean over (covered)", "mean shortfall");
        Row("at admission", e.AtAdmission);
        Row("without refinement", e.WithoutRefinement);
        Row("with refinement", e.WithRefinement);
        var q = e.Quantile is { } x ? $", q = {x.ToString("0.###", CultureInfo.InvariantCulture)}" : string.Empty;
        AnsiConsole.MarkupLine($"[bold]{e.Predictor}[/] on {e.Requests} held-out requests{q}; refinement checkpoints every {e.CheckpointStride} tokens");
        AnsiConsole.Write(table);

        void Row(string label, BoundQuality b) => table.AddRow(
            label,
            b.Samples.ToString(CultureInfo.InvariantCulture),
            (b.Coverage * 100).ToString("0.0", CultureInfo.InvariantCulture) + "%",
            b.MeanOverEstimate.ToString("0", CultureInfo.InvariantCulture),
            b.MedianOverEstimate.ToString("0", CultureInfo.InvariantCulture),
            b.MeanOverEstimateCovered.ToString("0", CultureInfo.InvariantCulture),
            b.MeanShortfall.ToString("0", CultureInfo.InvariantCulture));
    }
}
