from taskflow_sdk.cli.app import main

main()
