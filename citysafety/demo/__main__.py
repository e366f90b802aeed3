from citysafety.demo.generate import main

raise SystemExit(main())
