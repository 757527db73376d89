namespace Tempo.Workloads.Tests;

public class WorkloadCatalogTests
{
    [Fact]
    public void Names_ListsRequiredBuiltInsWithDescriptions()
    {
        var names = WorkloadCatalog.Names.Select(n => n.Name).ToList();

        Assert.Equal("mixed", names[0]);
        Assert.Subset(names.ToHashSet(), new HashSet<string> { "mixed", "azure-conv", "chat", "deep-research" });
        Assert.All(WorkloadCatalog.Names, n => Assert.False(string.IsNullOrWhiteSpace(n.Description)));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void Create_InvalidRate_ThrowsArgumentException(double rate)
    {
        var e = Assert.Throws<ArgumentException>(() => WorkloadCatalog.Create("mixed", new WorkloadOptions { Rate = rate }));

        Assert.StartsWith("rate must be", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    public void Create_NonPositiveRequests_ThrowsArgumentException(int n)
    {
        Assert.Throws<ArgumentException>(() => WorkloadCatalog.Create("chat", new WorkloadOptions { Requests = n }));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-2.0)]
    [InlineData(double.NaN)]
    public void Create_NonPositiveCv_ThrowsArgumentException(double cv)
    {
        Assert.Throws<ArgumentException>(() => WorkloadCatalog.Create("chat", new WorkloadOptions { Arrival = ArrivalProcess.Gamma, BurstCv = cv }));
    }

    [Fact]
    public void Create_BadRatioOrTotFraction_ThrowsArgumentException()
    {
        Assert.Throws<ArgumentException>(() => WorkloadCatalog.Create("mixed", new WorkloadOptions { Ratio = new ClassRatio(0, 0, 0) }));
        Assert.Throws<ArgumentException>(() => WorkloadCatalog.Create("mixed", new WorkloadOptions { Ratio = new ClassRatio(-1, 1, 1) }));
        Assert.Throws<ArgumentException>(() => WorkloadCatalog.Create("mixed", new WorkloadOptions { TotFraction = 1.5 }));
    }

    [Fact]
    public void Create_UnknownName_ListsBuiltIns()
    {
        var e = Assert.Throws<ArgumentException>(() => WorkloadCatalog.Create("lmsys", new WorkloadOptions()));

        Assert.Contains("mixed", e.Message, StringComparison.Ordinal);
        Assert.Contains(".jsonl", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_MissingFile_ThrowsFileNotFound()
    {
        Assert.Throws<FileNotFoundException>(() => WorkloadCatalog.Create("/nonexistent/w.jsonl", new WorkloadOptions()));
    }

    [Fact]
    public void Create_NameIsCaseInsensitive()
    {
        Assert.Equal(50, WorkloadCatalog.Create("Chat", new WorkloadOptions { Requests = 50 }).Requests.Count);
    }

    [Fact]
    public void Create_JsonlAndCsvPaths_ReadByExtension()
    {
        var dir = Directory.CreateTempSubdirectory("tempo-wl-");
        try
        {
            var jsonl = Path.Combine(dir.FullName, "mine.jsonl");
            var generated = WorkloadCatalog.Create("mixed", new WorkloadOptions { Requests = 60 });
            WorkloadJsonl.Write(generated, jsonl);
            var csv = Path.Combine(dir.FullName, "trace.csv");
            File.WriteAllText(csv, "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.0,100,10\n2023-11-16 18:15:48.0,200,20\n");

            Assert.Equal(generated.Requests, WorkloadCatalog.Create(jsonl, new WorkloadOptions()).Requests);
            var trace = WorkloadCatalog.Create(csv, new WorkloadOptions { Ratio = new ClassRatio(1, 0, 0) });
            Assert.Equal("trace", trace.Name);
            Assert.Equal([0.0, 2.0], trace.Requests.Select(r => r.ArrivalS));
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void ClassRatio_Parse_AcceptsCommasAndColons()
    {
        Assert.Equal(new ClassRatio(1, 2, 3.5), ClassRatio.Parse("1,2,3.5"));
        Assert.Equal(new ClassRatio(1, 1, 0), ClassRatio.Parse("1:1:0"));
        Assert.Throws<FormatException>(() => ClassRatio.Parse("1,1"));
        Assert.Throws<FormatException>(() => ClassRatio.Parse("1,x,1"));
    }
}
