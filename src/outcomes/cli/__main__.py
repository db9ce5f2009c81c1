from outcomes.cli import main

main()
