from citysafety.orchestrate.cli import main

raise SystemExit(main())
