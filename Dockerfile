# The ResultGrid silo host. Build: docker build -t resultgrid-silo .
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish src/Silo/ResultGrid.Silo.csproj -c Release -o /app --nologo

FROM mcr.microsoft.com/dotnet/runtime:10.0
WORKDIR /app
COPY --from=build /app .
# Published ports reach the silo only if it listens beyond the container's loopback.
ENV RESULTGRID__SILO__LISTENONANYADDRESS=true
EXPOSE 11111 30000
USER app
ENTRYPOINT ["dotnet", "ResultGrid.Silo.dll"]
